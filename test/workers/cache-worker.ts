/**
 * One of several processes that share one cache and write, read and delete the same keys at once
 * (see test/conformance/processes.ts). Usage: tsx cache-worker.ts LOCATION WORKER START_AT, where
 * LOCATION is JSON `{ value, options }` for `ResponseCache.create`. The worker connects, waits until
 * START_AT (epoch ms) so that all start together, works, and prints a JSON summary; it exits 1 if
 * anything it read was wrong.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type AnyRepository, type Key, ResponseCache } from "../../src/index.js";
import { DOOMED, OWN_PER_ROUND, ROUNDS, SHARED, sharedSettings } from "../conformance/processes-plan.js";

const [locationArg = "{}", workerArg = "0", startAtArg = "0"] = process.argv.slice(2);
const { value, options } = JSON.parse(locationArg) as { value: string; options: Record<string, unknown> };
const worker = Number(workerArg);

const cache = await ResponseCache.create(value, options);
const repo = cache.createRepository(sharedSettings()) as AnyRepository;
await cache.connect();
await sleep(Math.max(0, Number(startAtArg) - Date.now()));
const started = Date.now();

const problems: string[] = [];
let reads = 0;
let removed = 0;
const shared: Key[] = Array.from({ length: SHARED }, (_, i) => ["GET", `s${i}`]);
const doomed: Key[] = Array.from({ length: DOOMED }, (_, i) => ["GET", `doomed-${i}`]);

for (let round = 0; round < ROUNDS; round++) {
  try {
    // Every worker rewrites all the shared keys in one batch, and saves keys of its own one by one.
    await repo.saveResponses(shared.map((key, i) => [key, `w${worker}:r${round}:s${i}`] as const));
    const own = Array.from(
      { length: OWN_PER_ROUND },
      (_, j): Key => ["GET", `w${worker}-${round * OWN_PER_ROUND + j}`],
    );
    await Promise.all(own.map((key) => repo.saveResponse([key, `own ${String(key[1])}`])));
    // One in ten of its own keys is deleted again; the doomed keys, all workers delete at once.
    const ownRemoved = await repo.deleteResponses(own.filter((_, j) => j % 10 === 0));
    if (ownRemoved !== OWN_PER_ROUND / 10) problems.push(`round ${round}: deleted ${ownRemoved} of its own keys`);
    if (round === 2) removed = await repo.deleteResponses(doomed);

    const values = (await repo.getResponses(shared)) as string[];
    reads += values.length;
    if (values.length !== SHARED) problems.push(`round ${round}: read ${values.length} shared entries`);
    for (const [i, payload] of values.entries()) {
      if (!new RegExp(`^w\\d+:r\\d+:s${i}$`).test(payload)) problems.push(`round ${round}: s${i} holds ${payload}`);
    }
    for (const key of own.filter((_, j) => j % 10 !== 0)) {
      const payload = await repo.getResponse(key);
      reads++;
      if (payload !== `own ${String(key[1])}`)
        problems.push(`round ${round}: ${String(key[1])} holds ${String(payload)}`);
    }
    await repo.count(false);
  } catch (error) {
    problems.push(`round ${round}: ${(error as Error).name}: ${(error as Error).message}`);
  }
}

await cache.close();
console.log(JSON.stringify({ worker, reads, removed, problems, started, finished: Date.now() }));
process.exitCode = problems.length === 0 ? 0 : 1;
