import { createInterface } from "node:readline/promises";
import type { Command } from "../command.js";
import { REPOSITORY_OPTION, repositoryNames } from "../command.js";
import type { Context } from "../context.js";
import { FILTER_HELP, FILTER_OPTIONS, filterOf, narrows } from "../filters.js";
import { formatCount, Table } from "../format.js";
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError } from "../terminal.js";

export const purge: Command = {
  name: "purge",
  summary: "remove entries: expired, by URL glob, by age, one repository, or all",
  help: `Usage: requestful purge (--expired | --match GLOB | --older-than D | --all) [--repository R]...
                       [--dry-run] [--yes] [--batch-size N] [--json]

Removes the entries that every given filter matches, in batches (one statement each on SQLite and
PostgreSQL; --expired uses the expiry index and never reads live entries). Ctrl-C stops between
two batches: what was removed stays removed, nothing is half-done.

Removing everything (--all, or --repository without a filter) asks first; it refuses when
standard input is not a terminal, unless --yes.

Options:
${FILTER_HELP}
  --all                every entry (of the repositories given, or of all of them)
  -r, --repository R   only this repository (repeatable)
  --dry-run            count what would go, and remove nothing
  -y, --yes            do not ask
  --batch-size N       entries per batch (default 10000)`,
  options: {
    ...REPOSITORY_OPTION,
    ...FILTER_OPTIONS,
    all: { type: "boolean" },
    "dry-run": { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    "batch-size": { type: "string" },
  },
  positionals: 0,
  async run(context, values) {
    const cache = await context.open();
    const names = repositoryNames(values);
    const repositories = context.select(cache, names);
    const filter = filterOf(values, cache.now());
    const everything = !narrows(filter);
    if (everything && values.all !== true && names === undefined) {
      throw new UsageError(
        "purge needs to be told what to remove: --expired, --match GLOB, --older-than D, --repository R or --all",
      );
    }
    if (!everything && values.all === true) {
      throw new UsageError(
        "--all removes everything; it cannot be given with --expired, --live, --match or --older-than",
      );
    }
    const batchSize = values["batch-size"] === undefined ? 10_000 : Number(values["batch-size"]);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new UsageError(
        `--batch-size takes a whole number of 1 or more, got ${JSON.stringify(values["batch-size"])}`,
      );
    }

    const counts: { repository: string; matching: number }[] = [];
    for (const repository of repositories) {
      counts.push({ repository: repository.name, matching: await repository.countWhere(filter) });
    }
    const total = counts.reduce((sum, count) => sum + count.matching, 0);
    if (values["dry-run"] === true) {
      await report(context, counts, total, true, false);
      return EXIT_OK;
    }
    if (everything && total > 0 && values.yes !== true) {
      const question =
        `Remove all ${formatCount(total)} entries of ${counts.map((c) => c.repository).join(", ")} ` +
        `from ${context.label}? [y/N] `;
      if (!(await confirm(context, question))) {
        context.note("nothing removed");
        return EXIT_FAILED;
      }
    }
    const bar = context.progress("purge");
    const removed: { repository: string; matching: number }[] = [];
    let done = 0;
    for (const repository of repositories) {
      if (context.signal.aborted) break;
      const count = await repository.purge(filter, {
        batchSize,
        signal: context.signal,
        onProgress: (progress) => bar.update(done + progress.done, total),
      });
      done += count;
      removed.push({ repository: repository.name, matching: count });
    }
    bar.done();
    await report(context, removed, done, false, context.signal.aborted);
    return context.signal.aborted ? EXIT_INTERRUPTED : EXIT_OK;
  },
};

async function confirm(context: Context, question: string): Promise<boolean> {
  const { stdin, stderr } = context.terminal;
  if (stdin.isTTY !== true) {
    throw new UsageError(
      "purge would remove every entry, and standard input is not a terminal to ask on: add --yes to go ahead",
    );
  }
  const prompt = createInterface({ input: stdin, output: stderr });
  try {
    const answer = await prompt.question(question, { signal: context.signal });
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    prompt.close();
  }
}

async function report(
  context: Context,
  counts: { repository: string; matching: number }[],
  total: number,
  dryRun: boolean,
  aborted: boolean,
): Promise<void> {
  if (context.json) {
    const key = dryRun ? "matching" : "removed";
    await context.out(
      `${JSON.stringify(
        {
          dryRun,
          aborted,
          [key]: total,
          repositories: counts.map((c) => ({ name: c.repository, [key]: c.matching })),
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  const table = new Table(["REPOSITORY", dryRun ? "WOULD REMOVE" : "REMOVED"], { right: [1], paint: context.paint });
  let text = "";
  for (const count of counts) text += table.add([count.repository, formatCount(count.matching)]);
  text += table.flush();
  const verb = dryRun ? "would remove" : "removed";
  text += `${dryRun ? "dry run: " : ""}${verb} ${formatCount(total)} entries${aborted ? " (stopped by Ctrl-C)" : ""}\n`;
  await context.out(text);
}
