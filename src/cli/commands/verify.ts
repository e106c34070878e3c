import type { BrokenEntry } from "../../cache/admin.js";
import { redactUrl } from "../../credentials.js";
import type { Command } from "../command.js";
import { REPOSITORY_OPTION, repositoryNames } from "../command.js";
import { formatCount, Table } from "../format.js";
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK } from "../terminal.js";

export const verify: Command = {
  name: "verify",
  summary: "the store's integrity check, and every payload read back through its handler",
  help: `Usage: requestful verify [--fix] [--repository R]... [--json]

Runs the store's own check (SQLite's PRAGMA integrity_check; each Redis index against its
entries; PostgreSQL row checks), then reads every entry back — expired ones too — through its
repository's payload handler, and its headers as JSON. Lists what failed; --fix removes the
entries that no longer read back. Exit status 1 when anything was wrong (even once fixed).
Payloads of a custom payload handler are read as bytes: only the application can check them.

Options:
  --fix                remove the entries that fail
  -r, --repository R   only this repository (repeatable)`,
  options: { ...REPOSITORY_OPTION, fix: { type: "boolean" } },
  positionals: 0,
  async run(context, values) {
    const cache = await context.open();
    const repositories = context.select(cache, repositoryNames(values));
    const problems = await cache.checkIntegrity();
    const fix = values.fix === true;
    const results: { repository: string; checked: number; removed: number; broken: BrokenEntry[] }[] = [];
    let aborted = false;
    for (const repository of repositories) {
      if (context.signal.aborted) break;
      const bar = context.progress(`verify ${repository.name}`);
      const report = await repository.verify({
        fix,
        signal: context.signal,
        onProgress: ({ done, total }) => bar.update(done, total),
      });
      bar.done();
      aborted ||= report.aborted;
      results.push({ repository: repository.name, ...report });
    }
    aborted ||= context.signal.aborted;
    const broken = results.reduce((sum, r) => sum + r.broken.length, 0);
    const removed = results.reduce((sum, r) => sum + r.removed, 0);
    const checked = results.reduce((sum, r) => sum + r.checked, 0);
    const ok = problems.length === 0 && broken === 0;
    if (context.json) {
      const repositoriesOut = results.map((r) => ({
        name: r.repository,
        checked: r.checked,
        removed: r.removed,
        broken: r.broken.map((b) => ({ key: b.key, url: b.url === null ? null : redactUrl(b.url), reason: b.reason })),
      }));
      await context.out(
        `${JSON.stringify({ ok, aborted, store: problems, checked, broken, removed, repositories: repositoriesOut }, null, 2)}\n`,
      );
    } else {
      const { paint } = context;
      let text =
        problems.length === 0
          ? `store: ${paint("green", "ok")}\n`
          : `store: ${paint("red", `${problems.length} problems`)}\n${problems.map((p) => `  ${p}\n`).join("")}`;
      if (broken > 0) {
        const table = new Table(["REPOSITORY", "KEY", "URL", "PROBLEM"], { paint });
        for (const r of results) {
          for (const b of r.broken) {
            text += table.add([r.repository, JSON.stringify(b.key), b.url === null ? "" : redactUrl(b.url), b.reason]);
          }
        }
        text += table.flush();
      }
      text +=
        `entries: ${formatCount(checked)} checked, ` +
        (broken === 0 ? paint("green", "none broken") : paint("red", `${formatCount(broken)} broken`)) +
        (fix ? `, ${formatCount(removed)} removed` : broken > 0 ? " (run with --fix to remove them)" : "") +
        (aborted ? " (stopped by Ctrl-C)" : "") +
        "\n";
      await context.out(text);
    }
    if (aborted) return EXIT_INTERRUPTED;
    return ok ? EXIT_OK : EXIT_FAILED;
  },
};
