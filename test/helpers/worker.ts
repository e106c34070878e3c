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
  const child = spawn(join(root, "node_modules", ".bin", "tsx"), [join(root, "test", "workers", script), ...args], {
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
