import type { Command } from "../command.js";
import { REPOSITORY_OPTION, repositoryNames } from "../command.js";
import { formatBytes, formatCount, formatInstant, formatRelative, Table } from "../format.js";
import { EXIT_OK } from "../terminal.js";

export const stats: Command = {
  name: "stats",
  summary: "entries, sizes and ages per repository, and the size of the store",
  help: `Usage: requestful stats [--repository R]... [--json]

Per repository: entries (live and expired), payload bytes, oldest and newest entry, payload kind
and key fields; then the size of the whole store (the SQLite file with its log, the PostgreSQL
tables, or the Redis server's memory). Hit and miss figures are not kept by any store.

Options:
  -r, --repository R   only this repository (repeatable)`,
  options: { ...REPOSITORY_OPTION },
  positionals: 0,
  async run(context, values) {
    const cache = await context.open();
    const repositories = context.select(cache, repositoryNames(values));
    const now = cache.now();
    const rows = [];
    for (const repository of repositories) {
      const measured = await repository.stats();
      rows.push({
        name: repository.name,
        fields: [...repository.settings.fields],
        payload: handlerKind(repository.settings),
        expire: repository.expire,
        ...measured,
      });
    }
    const store = await cache.storeSize();
    if (context.json) {
      await context.out(
        `${JSON.stringify({ cache: context.label, backend: cache.type, store, repositories: rows }, null, 2)}\n`,
      );
      return EXIT_OK;
    }
    const { paint } = context;
    await context.out(`${paint("bold", "cache")}  ${context.label} (${cache.type})\n\n`);
    if (rows.length === 0) {
      await context.out("no repositories are recorded in this store\n");
    } else {
      const table = new Table(["REPOSITORY", "ENTRIES", "LIVE", "EXPIRED", "PAYLOAD", "OLDEST", "NEWEST", "KEY"], {
        right: [1, 2, 3, 4],
        paint,
      });
      let text = "";
      for (const row of rows) {
        text += table.add([
          row.name,
          formatCount(row.entries),
          formatCount(row.live),
          row.expired > 0 ? paint("yellow", formatCount(row.expired)) : "0",
          formatBytes(row.payloadBytes),
          row.oldest === null ? "-" : formatRelative(row.oldest, now),
          row.newest === null ? "-" : formatRelative(row.newest, now),
          `method, ${row.fields.join(", ")} (${row.payload})`.replace(", (", " ("),
        ]);
      }
      await context.out(text + table.flush());
      const total = rows.reduce((sum, row) => sum + row.payloadBytes, 0);
      const oldest = rows.map((row) => row.oldest).filter((t) => t !== null);
      await context.out(
        `\n${formatCount(rows.reduce((sum, row) => sum + row.entries, 0))} entries, ${formatBytes(total)} of payload` +
          (oldest.length > 0 ? `, oldest cached ${formatInstant(Math.min(...oldest))}` : "") +
          "\n",
      );
    }
    if (store !== null) await context.out(`store: ${formatBytes(store.bytes)} (${store.measured})\n`);
    return EXIT_OK;
  },
};

function handlerKind(settings: { payloadHandler: unknown; record?: { payload: string; handler: string } }): string {
  if (settings.record !== undefined) {
    return settings.record.payload === "custom" ? `custom: ${settings.record.handler}` : settings.record.payload;
  }
  return (settings.payloadHandler as object).constructor.name;
}
