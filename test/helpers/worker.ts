/** Worker processes for the multi-process conformance tests: a script under test/workers, run with tsx. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

/** What a worker printed, and how it exited. */
export interface WorkerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `test/workers/<script>` with `args`; `done` resolves when it exits, with what it printed. */
export function startWorker(
  script: string,
  args: readonly string[],
): { child: ChildProcess; done: Promise<WorkerResult> } {
  // Node itself with tsx's loader, not the tsx command: that one runs the script in a child process
  // of its own, which a signal sent to it (SIGKILL above all) would leave running.
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "test", "workers", script), ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (data) => {
    stdout += data;
  });
  child.stderr?.on("data", (data) => {
    stderr += data;
  });
  const done = once(child, "exit").then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, done };
}
