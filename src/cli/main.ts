#!/usr/bin/env node
import { run } from "./run.js";
import { EXIT_INTERRUPTED } from "./terminal.js";

const controller = new AbortController();
process.on("SIGINT", () => {
  if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
  process.stderr.write("\nstopping after this batch (Ctrl-C again to quit at once)\n");
  controller.abort();
});
// A reader that goes away (| head) ends the output; that is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await run(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() },
  controller.signal,
);
