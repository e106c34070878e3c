/**
 * Runs the command line in this process with its output counted, not kept, then prints one JSON
 * line on standard error: exit status, lines written, peak resident memory (bytes) and seconds.
 * Used by cli.bench.ts: node --import tsx bench/cli-child.ts ARGS...
 */
import { Writable } from "node:stream";
import { run } from "../src/cli/run.js";

let lines = 0;
const stdout = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const byte of chunk) if (byte === 10) lines++;
    done();
  },
});
const start = performance.now();
const code = await run(
  process.argv.slice(2),
  { stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() },
  new AbortController().signal,
);
const seconds = (performance.now() - start) / 1_000;
process.stderr.write(`${JSON.stringify({ code, lines, maxRss: process.resourceUsage().maxRSS * 1024, seconds })}\n`);
