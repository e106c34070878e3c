/**
 * Grades `session.fetch` with the http-tests/cache-tests suite, over memory and SQLite, as a private
 * and as a shared cache, and fails when a required test fails that `expected-failures.json` does not
 * list.
 *
 *   npm run test:http                       all four configurations
 *   npm run test:http -- --config memory-private --only freshness-max-age,vary-match
 *   npm run test:http -- --report-only      print, never fail (also REQUESTFUL_HTTP_REPORT_ONLY=1)
 *
 * Options: `--config NAME` (repeatable), `--only ID,...`, `--concurrency N` (tests at once per
 * configuration, default 25), `--jobs N` (configurations at once, default 4), `--shared-style
 * proxy|browser` (the test set of the shared configurations, default proxy; also
 * REQUESTFUL_HTTP_SHARED_STYLE), `--verbose` (print each configuration's log), `--json FILE` (write
 * the summaries).
 */
import { fork } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CONFIGURATIONS, type Configuration, configurationNamed, withSharedStyle } from "./configurations.js";
import { expectedFor, loadExpectedFailures, type Summary, summarise, unexpectedFailures } from "./grading.js";
import { formatSummary } from "./report.js";
import type { RunOutput } from "./run-one.js";
import { loadGrading, loadGroups, suiteFolder } from "./suite.js";
import type { WorkerTask } from "./worker.js";

const here = dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    config: { type: "string", multiple: true },
    only: { type: "string" },
    concurrency: { type: "string", default: "25" },
    jobs: { type: "string", default: "4" },
    "report-only": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    json: { type: "string" },
    "shared-style": { type: "string", default: process.env.REQUESTFUL_HTTP_SHARED_STYLE ?? "proxy" },
  },
});
const reportOnly =
  values["report-only"] || ["1", "true", "yes"].includes(process.env.REQUESTFUL_HTTP_REPORT_ONLY ?? "");
const concurrency = positive("--concurrency", values.concurrency);
const jobs = positive("--jobs", values.jobs);
const sharedStyle = values["shared-style"];
if (sharedStyle !== "proxy" && sharedStyle !== "browser") {
  throw new RangeError(`--shared-style must be "proxy" or "browser", got "${sharedStyle}"`);
}
const configurations = (values.config === undefined ? CONFIGURATIONS : values.config.map(configurationNamed)).map(
  (configuration) => withSharedStyle(configuration, sharedStyle),
);

function positive(option: string, value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) throw new RangeError(`${option} must be a whole number, 1 or more`);
  return number;
}

interface Finished {
  readonly output: RunOutput | undefined;
  readonly log: string;
  readonly code: number | null;
}

function runWorker(configuration: Configuration, scratch: string): Promise<Finished> {
  const folder = join(scratch, configuration.name);
  mkdirSync(folder);
  const task: WorkerTask = {
    configuration,
    scratch: folder,
    concurrency,
    ...(values.only === undefined ? {} : { only: values.only.split(",") }),
  };
  const child = fork(join(here, "worker.ts"), [JSON.stringify(task)], { stdio: ["ignore", "pipe", "pipe", "ipc"] });
  const log: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => log.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk));
  let output: RunOutput | undefined;
  child.on("message", (message) => {
    output = message as RunOutput;
  });
  return new Promise((resolve) => {
    child.on("close", (code) => resolve({ output, log: Buffer.concat(log).toString("utf8"), code }));
  });
}

async function runAll(scratch: string): Promise<Finished[]> {
  const finished: Finished[] = new Array(configurations.length);
  let next = 0;
  const lane = async () => {
    while (next < configurations.length) {
      const index = next++;
      const configuration = configurations[index] as Configuration;
      finished[index] = await runWorker(configuration, scratch);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, configurations.length) }, lane));
  return finished;
}

const folder = suiteFolder();
const [groups, grading] = await Promise.all([loadGroups(folder), loadGrading(folder)]);
const expectedList = loadExpectedFailures();
console.log(
  `http-tests/cache-tests from ${folder}; ${configurations.length} configuration(s), ${concurrency} tests at once`,
);

const scratch = mkdtempSync(join(tmpdir(), "requestful-http-cache-"));
let failed = false;
const summaries: Summary[] = [];
try {
  const finished = await runAll(scratch);
  for (const [index, configuration] of configurations.entries()) {
    const { output, log, code } = finished[index] as Finished;
    console.log("");
    if (output === undefined) {
      failed = true;
      console.log(`== ${configuration.name}: the run did not finish (exit code ${code})\n${log}`);
      continue;
    }
    const expected = expectedFor(expectedList, configuration.name);
    const summary = summarise(groups, output.results, grading, configuration, expected);
    summaries.push(summary);
    for (const line of formatSummary(summary, output.features, output.milliseconds / 1000)) console.log(line);
    if (values.verbose && log !== "") console.log(`-- ${configuration.name} log\n${log}`);
    if (unexpectedFailures(summary).length > 0) failed = true;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(summaries, null, 2)}\n`);

console.log("");
console.log(
  summaries.map((s) => `${s.configuration} ${s.total.passed}/${s.total.graded}`).join(", ") +
    (failed ? (reportOnly ? " (failures reported only)" : " — FAILED") : " — ok"),
);
process.exitCode = failed && !reportOnly ? 1 : 0;
