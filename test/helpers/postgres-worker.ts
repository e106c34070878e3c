/**
 * One of several processes that share a PostgreSQL cache (see postgres.processes.test.ts).
 * Arguments: URL, schema, worker number. Prints "ready" once connected, waits for "go" on stdin,
 * then writes, reads and deletes at once with the other workers, and prints a JSON summary.
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
import { type AnyRepository, defineSettings, type Key, PostgresCache } from "../../src/index.js";

const [url, schema, worker] = process.argv.slice(2) as [string, string, string];
const ROUNDS = 5;
const SHARED = 500;
const OWN = 250;
const DOOMED = 400;

const cache = PostgresCache.connect(url, { schema, poolSize: 4, timeout: 10_000 });
const repo = cache.createRepository(
  defineSettings({ name: "shared", fields: ["id"], getKey: () => [null] }),
) as AnyRepository;
await cache.connect();

const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
await once(lines, "line");
lines.close();
process.stdin.destroy();

const shared: Key[] = Array.from({ length: SHARED }, (_, i) => ["GET", `shared-${i}`]);
const own: Key[] = Array.from({ length: OWN }, (_, i) => ["GET", `own-${worker}-${i}`]);
const doomed: Key[] = Array.from({ length: DOOMED }, (_, i) => ["GET", `doomed-${i}`]);

let reads = 0;
let removed = 0;
const bad: string[] = [];
for (let round = 0; round < ROUNDS; round++) {
  await repo.saveResponses(shared.map((key) => [key, `w${worker} r${round} ${String(key[1])}`] as const));
  await Promise.all(own.slice(round * 50, round * 50 + 50).map((key) => repo.saveResponse([key, `own ${worker}`])));
  if (round === 2) removed = await repo.deleteResponses(doomed);
  const found = (await repo.getResponses(shared)) as string[];
  reads += found.length;
  for (const [i, payload] of found.entries()) {
    if (!/^w\d r\d shared-\d+$/.test(payload) || !payload.endsWith(` shared-${i}`)) bad.push(payload);
  }
  for (const key of shared.slice(round * 20, round * 20 + 20)) {
    const payload = (await repo.getResponse(key)) as string | undefined;
    if (payload === undefined || !payload.endsWith(` ${String(key[1])}`)) bad.push(String(payload));
  }
}
const ownFound = (await repo.getResponses(own)).length;
await cache.close();
process.stdout.write(`${JSON.stringify({ worker, reads, removed, bad, ownFound })}\n`);
