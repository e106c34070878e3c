import type { Command } from "../command.js";
import { formatBytes } from "../format.js";
import { EXIT_OK } from "../terminal.js";

export const compact: Command = {
  name: "compact",
  summary: "give space back: SQLite VACUUM, PostgreSQL VACUUM, Redis index clean-up",
  help: `Usage: requestful compact [--json]

SQLite: moves the write-ahead log into the file and rewrites the file without its free pages
(VACUUM). PostgreSQL: VACUUM (ANALYZE) of every repository's table. Redis: takes out of each index
the entries that Redis has expired. Prints the size of the store before and after.`,
  options: {},
  positionals: 0,
  async run(context) {
    const cache = await context.open();
    context.note(`compacting ${context.label}…`);
    const { before, after } = await cache.compact();
    if (context.json) {
      await context.out(`${JSON.stringify({ cache: context.label, backend: cache.type, before, after }, null, 2)}\n`);
      return EXIT_OK;
    }
    if (before === null || after === null) {
      await context.out(`compacted (the ${cache.type} backend does not tell its size)\n`);
    } else {
      const saved = before.bytes - after.bytes;
      await context.out(
        `${before.measured}: ${formatBytes(before.bytes)} before, ${formatBytes(after.bytes)} after` +
          (saved > 0 ? ` (${formatBytes(saved)} given back)` : "") +
          "\n",
      );
    }
    return EXIT_OK;
  },
};
