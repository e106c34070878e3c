import { createReadStream, createWriteStream, existsSync, renameSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { finished } from "node:stream/promises";
import { exportCache, importCache } from "../../cache/transfer.js";
import type { Command } from "../command.js";
import { REPOSITORY_OPTION, repositoryNames } from "../command.js";
import { formatCount } from "../format.js";
import { EXIT_INTERRUPTED, EXIT_OK, type Output, UsageError, write } from "../terminal.js";

/** A store given as an argument: a URL of a backend that is not a file. */
const STORE_URL = /^(redis|rediss|postgres|postgresql|sqlite|memory):/i;

export const exportCommand: Command = {
  name: "export",
  summary: "write entries as NDJSON, to standard output or a file",
  help: `Usage: requestful export [STORE] [--repository R]... [--output FILE]

Writes every entry (expired ones too) as NDJSON: a first line with the format version, then each
repository's record (name, key fields, payload kind, expiry) followed by its entries — key, name,
status, headers, URL, instants in epoch milliseconds, payload as text or base64 bytes — and a
closing line with the count, so that a file cut short is refused on import. STORE may be given
here instead of --cache. Memory stays flat whatever the size of the store.

  requestful export .cache/requestful.sqlite | requestful import postgres://localhost/app

Options:
  -r, --repository R   only this repository (repeatable)
  -o, --output FILE    write to FILE (written whole: a stopped export leaves no file)`,
  options: { ...REPOSITORY_OPTION, output: { type: "string", short: "o" } },
  positionals: 1,
  async run(context, values, positionals) {
    if (positionals[0] !== undefined) context.useStore(positionals[0]);
    const cache = await context.open();
    const names = repositoryNames(values);
    context.select(cache, names);
    const target = typeof values.output === "string" ? resolve(context.terminal.cwd, values.output) : undefined;
    const partial = target === undefined ? undefined : `${target}.partial`;
    const output: Output = partial === undefined ? context.terminal.stdout : createWriteStream(partial);
    const bar = context.progress("export");
    let entries = 0;
    let complete = false;
    try {
      for await (const line of exportCache(cache, {
        ...(names === undefined ? {} : { repositories: names }),
        signal: context.signal,
        onProgress: ({ done, total }) => bar.update(done, total),
      })) {
        if (line.startsWith('{"type":"end"')) complete = true;
        else if (line.startsWith('{"type":"entry"')) entries++;
        await write(output, line);
      }
    } finally {
      bar.done();
      if (partial !== undefined) {
        output.end();
        await finished(output).catch(() => {});
        if (complete && target !== undefined) renameSync(partial, target);
        else rmSync(partial, { force: true });
      }
    }
    if (!complete) {
      context.note(
        `export stopped by Ctrl-C after ${formatCount(entries)} entries${target ? "; no file written" : ""}`,
      );
      return EXIT_INTERRUPTED;
    }
    const summary = { exported: entries, file: target ?? null };
    if (target === undefined) context.note(`exported ${formatCount(entries)} entries`);
    else if (context.json) await context.out(`${JSON.stringify(summary, null, 2)}\n`);
    else await context.out(`exported ${formatCount(entries)} entries to ${target}\n`);
    return EXIT_OK;
  },
};

export const importCommand: Command = {
  name: "import",
  summary: "read entries from an export (a file or standard input)",
  help: `Usage: requestful import [FILE|-] [STORE] [--batch-size N] [--json]

Reads an export into the store, creating the repositories it records that the store does not have.
Entries are written in batches, each whole or not at all; Ctrl-C stops between two batches. Reads
standard input when FILE is - or left out. A STORE given as a URL (redis://, postgres://, sqlite:)
may stand in for --cache. A file written by a newer release (a newer format version) is refused.

  requestful export | requestful import postgres://localhost/app

Options:
  --batch-size N       entries per batch (default 1000)`,
  options: { "batch-size": { type: "string" } },
  positionals: 2,
  async run(context, values, positionals) {
    let [file, store] = positionals;
    if (store === undefined && file !== undefined && STORE_URL.test(file)) [file, store] = [undefined, file];
    if (store !== undefined) context.useStore(store);
    const batchSize = values["batch-size"] === undefined ? 1_000 : Number(values["batch-size"]);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new UsageError(
        `--batch-size takes a whole number of 1 or more, got ${JSON.stringify(values["batch-size"])}`,
      );
    }
    const fromStdin = file === undefined || file === "-";
    if (fromStdin && context.terminal.stdin.isTTY === true) {
      throw new UsageError("import reads an export from FILE or from standard input, which is a terminal here");
    }
    const path = fromStdin ? undefined : resolve(context.terminal.cwd, file as string);
    if (path !== undefined && !existsSync(path)) throw new UsageError(`no export at ${path}`);
    const cache = await context.open({ create: true });
    // Made once the cache is open: a line read before the loop starts asking for lines would be lost.
    const input = path === undefined ? context.terminal.stdin : createReadStream(path);
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    const bar = context.progress("import");
    let report: Awaited<ReturnType<typeof importCache>>;
    try {
      report = await importCache(cache, lines, {
        batchSize,
        signal: context.signal,
        onProgress: ({ done, total }) => bar.update(done, total),
      });
    } finally {
      bar.done();
      lines.close();
      if (!fromStdin) input.destroy();
    }
    if (context.json) {
      await context.out(`${JSON.stringify({ cache: context.label, ...report }, null, 2)}\n`);
    } else {
      await context.out(
        `imported ${formatCount(report.entries)} entries into ${report.repositories.length} repositories ` +
          `(${report.repositories.join(", ")}) of ${context.label}${report.aborted ? " (stopped by Ctrl-C)" : ""}\n`,
      );
    }
    return report.aborted ? EXIT_INTERRUPTED : EXIT_OK;
  },
};
