/**
 * One of several processes that write to one bounded cache at once (see test/conformance/bounds.ts).
 * Usage: tsx bounds-worker.ts LOCATION WORKER START_AT, where LOCATION is JSON `{ value, options }`
 * for `ResponseCache.create`. Prints a JSON summary; exits 1 on an error.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type AnyRepository, type Key, ResponseCache } from "../../src/index.js";
import { boundSettings, payloadFor, WRITES_PER_WORKER } from "../conformance/bounds-plan.js";

const [locationArg = "{}", workerArg = "0", startAtArg = "0"] = process.argv.slice(2);
const { value, options } = JSON.parse(locationArg) as { value: string; options: Record<string, unknown> };
const worker = Number(workerArg);

const cache = await ResponseCache.create(value, options);
const repo = cache.createRepository(boundSettings()) as AnyRepository;
await cache.connect();
await sleep(Math.max(0, Number(startAtArg) - Date.now()));
const started = Date.now();
const problems: string[] = [];
let written = 0;
for (let i = 0; i < WRITES_PER_WORKER; ) {
  try {
    if (i % 50 < 40) {
      // Single saves, a few at once, some of them over keys other workers write too.
      const batch = Array.from({ length: 4 }, (_, j): [Key, string] => [
        ["GET", `k${(i + j) % 60}-${worker % 2}-${i + j}`],
        payloadFor(worker, i + j),
      ]);
      await Promise.all(batch.map((pair) => repo.saveResponse(pair)));
      written += batch.length;
      i += batch.length;
    } else {
      const batch = Array.from({ length: 10 }, (_, j): [Key, string] => [
        ["GET", `shared-${(i + j) % 40}`],
        payloadFor(worker, i + j),
      ]);
      written += await repo.saveResponses(batch);
      i += batch.length;
    }
    if (i % 40 === 0) await repo.getResponse(["GET", `shared-${i % 40}`]);
  } catch (error) {
    problems.push(`${(error as Error).name}: ${(error as Error).message}`);
    i++;
  }
}
await cache.close();
console.log(JSON.stringify({ written, problems, started, finished: Date.now() }));
process.exit(problems.length === 0 ? 0 : 1);
