import { redactUrl } from "../../credentials.js";
import type { Command } from "../command.js";
import { REPOSITORY_OPTION, repositoryNames } from "../command.js";
import { entrySummary, payloadSize } from "../entries.js";
import { FILTER_HELP, FILTER_OPTIONS, filterOf } from "../filters.js";
import { formatBytes, formatRelative, Table } from "../format.js";
import { EXIT_INTERRUPTED, EXIT_OK, UsageError } from "../terminal.js";

export const ls: Command = {
  name: "ls",
  summary: "one line per entry, with filters",
  help: `Usage: requestful ls [--repository R]... [--expired|--live] [--match GLOB] [--older-than D] [--limit N] [--json]

One line per entry: repository, key, name, status, payload size, when it was cached and when it
expires, and its URL with credentials redacted. Entries are read in batches, so memory stays flat
whatever the size of the store. With --json, one JSON object per line (NDJSON).

Options:
  -r, --repository R   only this repository (repeatable)
${FILTER_HELP}
  -n, --limit N        at most N entries`,
  options: { ...REPOSITORY_OPTION, ...FILTER_OPTIONS, limit: { type: "string", short: "n" } },
  positionals: 0,
  async run(context, values) {
    let limit = Number.POSITIVE_INFINITY;
    if (typeof values.limit === "string") {
      limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 0) {
        throw new UsageError(`--limit takes a whole number of 0 or more, got ${JSON.stringify(values.limit)}`);
      }
    }
    const cache = await context.open();
    const repositories = context.select(cache, repositoryNames(values));
    const now = cache.now();
    const filter = filterOf(values, now);
    const { paint } = context;
    const table = new Table(["REPOSITORY", "KEY", "NAME", "STATUS", "SIZE", "CACHED", "EXPIRES", "URL"], {
      right: [3, 4],
      paint,
    });
    let listed = 0;
    for (const repository of repositories) {
      if (listed >= limit) break;
      for await (const entry of repository.list({ ...filter, limit: limit - listed })) {
        if (context.signal.aborted) return EXIT_INTERRUPTED;
        listed++;
        if (context.json) {
          await context.out(`${JSON.stringify(entrySummary(repository.name, entry, now))}\n`);
          continue;
        }
        const expired = entry.expiresAt <= now;
        const line = table.add([
          repository.name,
          JSON.stringify(entry.key),
          entry.name ?? "",
          entry.status === null ? "-" : String(entry.status),
          formatBytes(payloadSize(entry)),
          formatRelative(entry.cachedAt, now),
          expired
            ? paint("yellow", `expired ${formatRelative(entry.expiresAt, now)}`)
            : formatRelative(entry.expiresAt, now),
          entry.url === null ? "" : redactUrl(entry.url),
        ]);
        if (line !== "") await context.out(line);
      }
    }
    if (!context.json) {
      if (listed === 0) await context.out("no entries\n");
      else await context.out(table.flush());
    }
    return EXIT_OK;
  },
};
