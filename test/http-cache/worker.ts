/**
 * One configuration in a process of its own (the suite's client keeps its results in module state):
 * started by `run.ts` with an IPC channel and one argument, the JSON of a {@link WorkerTask}; sends
 * back its {@link RunOutput}.
 */
import type { Configuration } from "./configurations.js";
import { runConfiguration } from "./run-one.js";

/** What `run.ts` asks a worker to do. */
export interface WorkerTask {
  readonly configuration: Configuration;
  readonly scratch: string;
  readonly concurrency: number;
  readonly only?: readonly string[];
}

if (process.send === undefined) throw new Error("worker.ts is started by run.ts, with an IPC channel");
const { configuration, ...options } = JSON.parse(process.argv[2] ?? "{}") as WorkerTask;
const output = await runConfiguration(configuration, options);
process.send(output, () => process.exit(0));
