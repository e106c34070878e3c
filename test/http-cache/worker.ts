/**
 * One configuration in a process of its own (the suite's client keeps its results in module state):
 * `worker.ts CONFIGURATION SCRATCH CONCURRENCY [TEST_ID,...]`, started by `run.ts` with an IPC
 * channel, to which it sends its {@link RunOutput}.
 */
import { configurationNamed } from "./configurations.js";
import { runConfiguration } from "./run-one.js";

const [name = "", scratch = "", concurrency = "25", only] = process.argv.slice(2);
if (process.send === undefined) throw new Error("worker.ts is started by run.ts, with an IPC channel");
const output = await runConfiguration(configurationNamed(name), {
  scratch,
  concurrency: Number(concurrency),
  ...(only === undefined || only === "" ? {} : { only: only.split(",") }),
});
process.send(output, () => process.exit(0));
