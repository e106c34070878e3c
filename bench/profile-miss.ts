/**
 * Profiles the session's miss loop: every request asks for a URL not asked for before.
 * `npm run build && node --import tsx --import ./bench/shipped.mjs bench/profile-miss.ts memory|sqlite|normal
 * [requests] [profile.cpuprofile]` (the compiled package; `BENCH_SOURCE=src` for the source).
 * `BENCH_SINGLE_FLIGHT=process` leaves out the lock across processes; `BENCH_AUTOCHECKPOINT=N` sets
 * SQLite's `wal_autocheckpoint`; `IN_A_ROW=1` times the misses one after another (then the plain
 * fetches), so that what a miss leaves for later lands on the misses.
 */
import { writeFileSync } from "node:fs";
import { Session as Inspector } from "node:inspector/promises";
import { join } from "node:path";
import {
  CachedSession,
  defineSettings,
  JSONPayloadHandler,
  type JSONValue,
  MemoryCache,
  type ResponseCache,
  repositoryByPathSegment,
  SQLiteCache,
} from "../src/index.js";
import { tempFolder } from "../test/helpers/temp.js";
import { startApi } from "./workload.js";

const settings = defineSettings<JSONValue>({
  name: "misses",
  fields: ["id"],
  getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[3] : null],
  payloadHandler: new JSONPayloadHandler(),
});
const api = await startApi();
const folder = tempFolder("requestful-profile-miss-");
const kind = process.argv[2] ?? "memory";
const large = { maxEntries: 1_000_000, maxBytes: 1024 * 1024 * 1024 };
const cache: ResponseCache =
  kind === "memory"
    ? new MemoryCache(large)
    : SQLiteCache.connectWithPath(join(folder.path, "s"), kind === "normal" ? { synchronous: "normal" } : {});
cache.repositoryGetter = repositoryByPathSegment(1);
cache.createRepository(settings);
const session = new CachedSession({
  cache,
  ...(process.env.BENCH_SINGLE_FLIGHT === "process" ? { singleFlight: "process" as const } : {}),
});
await session.cache.connect();
if (process.env.BENCH_AUTOCHECKPOINT !== undefined && cache instanceof SQLiteCache) {
  cache.connection.pragma(`wal_autocheckpoint = ${process.env.BENCH_AUTOCHECKPOINT}`);
}
let n = 0;
const miss = async () => (await session.fetch(`${api.base}/v1/misses/m${n++}`)).json();
const plain = async () => (await fetch(`${api.base}/v1/misses/p${n++}`)).json();
for (let i = 0; i < 2_000; i++) {
  await miss();
  await plain();
}
const count = Number(process.argv[3] ?? 5_000);
const inspector = new Inspector();
inspector.connect();
const out = process.argv[4];
if (out !== undefined) {
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.setSamplingInterval", { interval: 100 });
  await inspector.post("Profiler.start");
}
const misses: number[] = [];
const plains: number[] = [];
// With IN_A_ROW=1, misses follow one another (background work included), then as many plain fetches.
const inARow = process.env.IN_A_ROW === "1";
const timed = async (work: () => Promise<unknown>, into: number[]) => {
  const start = performance.now();
  await work();
  into.push(performance.now() - start);
};
for (let i = 0; i < count; i++) {
  await timed(miss, misses);
  if (!inARow) await timed(plain, plains);
}
if (inARow) for (let i = 0; i < count; i++) await timed(plain, plains);
if (out !== undefined) {
  const { profile } = await inspector.post("Profiler.stop");
  writeFileSync(out, JSON.stringify(profile));
}
// Low percentiles are what the code costs; the mean and the median also carry the machine's load.
const at = (times: number[], q: number) => [...times].sort((a, b) => a - b)[Math.floor(times.length * q)] as number;
const row = (times: number[]) =>
  [0.1, 0.25, 0.5, 0.9, 0.99].map((q) => `p${q * 100} ${(at(times, q) * 1_000).toFixed(1)}`).join(", ") +
  `, mean ${((times.reduce((a, b) => a + b, 0) / times.length) * 1_000).toFixed(1)}`;
console.log(`${kind}: miss ${row(misses)} µs; plain fetch ${row(plains)} µs`);
console.log(`  miss / plain: ${[0.1, 0.25, 0.5].map((q) => (at(misses, q) / at(plains, q)).toFixed(3)).join(", ")}`);
await session.close();
await api.stop();
folder.remove();
