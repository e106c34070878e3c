/**
 * Bounds and cross-process single flight: the hit path of a bounded store with access tracking on
 * and off beside the same store unbounded (target: within 10%), eviction throughput (every write
 * into a full store evicts), a session hit with `singleFlight: "store"` beside `"process"`, and
 * origin requests and wall time for N processes × M URLs missed at once, with and without
 * cross-process single flight. Redis and PostgreSQL rows run when their servers answer.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import {
  type AnyRepository,
  CachedSession,
  type JSONValue,
  type Key,
  PostgresCache,
  RedisCache,
  type ResponseCache,
  repositoryByPathSegment,
  SQLiteCache,
} from "../src/index.js";
import { json, startServer } from "../test/helpers/http-server.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, testSchema } from "../test/helpers/postgres.js";
import { pingRedis, REDIS_URL, removePrefix, uniquePrefix } from "../test/helpers/redis.js";
import { tempFolder } from "../test/helpers/temp.js";
import { jsonPayload, keyOnlySettings, type Measurement, measure, measureBatch, report } from "./util.js";
import { workloadSettings } from "./workload.js";

const HIT_TARGET = 1.1;
const HOT = 1_000;
const BLOCKS = 31;
const BLOCK_MS = 20;
const root = join(import.meta.dirname, "..");

const settings = () => keyOnlySettings();

/** Settings whose key is the last path segment, for the session rows (`/v1/tracks/ID`). */
const sessionSettings = () => workloadSettings("tracks");

interface Store {
  name: string;
  make(options: Record<string, unknown>): ResponseCache;
  location(): { value: string; options: Record<string, unknown> };
  cleanup(): Promise<void>;
}

/** A bounded or unbounded cache of one store with HOT entries saved, and a read of the next hot key. */
async function hotCache(store: Store, options: Record<string, unknown>) {
  const cache = store.make(options);
  const repo = cache.createRepository(settings()) as AnyRepository;
  await cache.connect();
  const hot: [Key, JSONValue][] = Array.from({ length: HOT }, (_, i) => [
    ["GET", `hot${i}`],
    jsonPayload(1024, i) as JSONValue,
  ]);
  await repo.saveResponses(hot);
  let i = 0;
  const read = () => repo.getResponse((hot[i++ % HOT] as [Key, JSONValue])[0]);
  const close = async () => {
    await repo.clear();
    await cache.close();
  };
  return { read, close };
}

/**
 * Runs each subject's work in short blocks taken in turns, and gives the median block of each, so
 * that load on the machine falls on every side alike.
 */
async function inTurns(subjects: { label: string; work: () => unknown }[]): Promise<Measurement[]> {
  const blocks: number[][] = subjects.map(() => []);
  for (let round = 0; round < BLOCKS; round++) {
    for (const [index, { work }] of subjects.entries()) {
      let ops = 0;
      const start = performance.now();
      do {
        await work();
        ops++;
      } while (performance.now() - start < BLOCK_MS);
      if (round > 0) blocks[index]?.push(((performance.now() - start) * 1_000) / ops);
    }
  }
  return subjects.map(({ label }, index) => {
    const sorted = (blocks[index] as number[]).sort((a, b) => a - b);
    const usPerOp = sorted[Math.floor(sorted.length / 2)] as number;
    return { label, usPerOp, opsPerSec: 1_000_000 / usPerOp };
  });
}

/**
 * The hit path of one store unbounded, bounded with access tracking, and bounded without, measured
 * in short blocks taken in turns (the median block of each), so that load on the machine falls on
 * every side alike.
 */
async function hitRows(store: Store) {
  const subjects = [
    { label: `${store.name}: getResponse hit, unbounded`, options: {} },
    { label: `${store.name}: hit, bounded, access tracking on`, options: { maxEntries: 100_000 } },
    { label: `${store.name}: hit, bounded, tracking off`, options: { maxEntries: 100_000, trackAccess: false } },
  ];
  const caches: Awaited<ReturnType<typeof hotCache>>[] = [];
  for (const subject of subjects) caches.push(await hotCache(store, subject.options));
  const measured = await inTurns(
    subjects.map(({ label }, index) => ({ label, work: (caches[index] as (typeof caches)[number]).read })),
  );
  for (const cache of caches) await cache.close();
  const [floor, on, off] = measured as [Measurement, Measurement, Measurement];
  return [
    { floor, subject: on, target: HIT_TARGET },
    { floor, subject: off, target: HIT_TARGET },
  ];
}

async function evictionRows(store: Store): Promise<{ subject: Measurement; floor: Measurement }[]> {
  const value = jsonPayload(1024) as JSONValue;
  const rows: { subject: Measurement; floor: Measurement }[] = [];
  const single = async (options: Record<string, unknown>, label: string) => {
    const cache = store.make(options);
    const repo = cache.createRepository(settings()) as AnyRepository;
    await cache.connect();
    await repo.saveResponses(Array.from({ length: 1_000 }, (_, i) => [["GET", `fill${i}`], value] as const));
    let n = 0;
    const result = await measure(label, () => repo.saveResponse([["GET", `new${n++}`], value]));
    await repo.clear();
    await cache.close();
    return result;
  };
  rows.push({
    floor: await single({}, `${store.name}: saveResponse, unbounded`),
    subject: await single({ maxEntries: 1_000 }, `${store.name}: saveResponse into a full store (1 eviction each)`),
  });
  const batch = async (options: Record<string, unknown>, label: string) => {
    const cache = store.make(options);
    const repo = cache.createRepository(settings()) as AnyRepository;
    await cache.connect();
    let round = 0;
    const result = await measureBatch(
      label,
      1_000,
      async () => {
        await repo.saveResponses(Array.from({ length: 1_000 }, (_, i) => [["GET", `r${round}-${i}`], value] as const));
        round++;
      },
      5,
    );
    await repo.clear();
    await cache.close();
    return result;
  };
  rows.push({
    floor: await batch({}, `${store.name}: saveResponses 1,000 (per entry), unbounded`),
    subject: await batch({ maxEntries: 1_000 }, `${store.name}: saveResponses 1,000 into a full store (per entry)`),
  });
  return rows;
}

async function sessionHitRows(store: Store): Promise<{ subject: Measurement; floor: Measurement; target: number }> {
  const cache = store.make({ repositoryGetter: repositoryByPathSegment(1) });
  const repo = cache.createRepository(sessionSettings()) as AnyRepository;
  await cache.connect();
  const body = JSON.stringify(jsonPayload(1024));
  const fetch = async () => new Response(body, { headers: { "content-type": "application/json" } });
  const url = (i: number) => `https://api.example.com/v1/tracks/${i % 100}`;
  const byProcess = new CachedSession({ cache, fetch, singleFlight: "process" });
  const byStore = new CachedSession({ cache, fetch, singleFlight: "store" });
  for (let i = 0; i < 100; i++) await (await byStore.fetch(url(i))).json();
  let i = 0;
  let j = 0;
  const [floor, subject] = (await inTurns([
    {
      label: `${store.name}: session hit, singleFlight "process"`,
      work: async () => (await byProcess.fetch(url(i++))).json(),
    },
    {
      label: `${store.name}: session hit, singleFlight "store"`,
      work: async () => (await byStore.fetch(url(j++))).json(),
    },
  ])) as [Measurement, Measurement];
  for (const session of [byProcess, byStore]) expectCounts(session, "hits", store.name);
  await repo.clear();
  await cache.close();
  return { floor, subject, target: HIT_TARGET };
}

/**
 * A session miss (every request a new URL; the origin is an in-process `fetch`, so that the lock's
 * own cost shows) with `singleFlight: "process"` beside `"store"`, which takes and releases a lock
 * in the store around each miss.
 */
async function sessionMissRows(store: Store): Promise<{ subject: Measurement; floor: Measurement }> {
  const cache = store.make({ repositoryGetter: repositoryByPathSegment(1) });
  const repo = cache.createRepository(sessionSettings()) as AnyRepository;
  await cache.connect();
  const body = JSON.stringify(jsonPayload(1024));
  const fetch = async () => new Response(body, { headers: { "content-type": "application/json" } });
  const byProcess = new CachedSession({ cache, fetch, singleFlight: "process" });
  const byStore = new CachedSession({ cache, fetch, singleFlight: "store" });
  let n = 0;
  const url = () => `https://api.example.com/v1/tracks/miss-${n++}`;
  const [floor, subject] = (await inTurns([
    {
      label: `${store.name}: session miss, singleFlight "process"`,
      work: async () => (await byProcess.fetch(url())).json(),
    },
    {
      label: `${store.name}: session miss, singleFlight "store"`,
      work: async () => (await byStore.fetch(url())).json(),
    },
  ])) as [Measurement, Measurement];
  for (const session of [byProcess, byStore]) expectCounts(session, "stores", store.name);
  await repo.clear();
  await cache.close();
  return { floor, subject };
}

/** Makes sure a session row measured what it says: most requests were hits, or were stored. */
function expectCounts(session: CachedSession, what: "hits" | "stores", store: string): void {
  const total = session.stats().total;
  if (total[what] < total.requests * 0.9) {
    throw new Error(`${store}: a session row meant to measure ${what} made ${JSON.stringify(total)}`);
  }
}

async function processRun(mode: "store" | "process", location: string, origin: string, urls: number, workers: number) {
  const startAt = Date.now() + 4_000;
  const runs = Array.from({ length: workers }, async () => {
    const child = spawn(
      join(root, "node_modules", ".bin", "tsx"),
      [join(root, "test", "workers", "fill-worker.ts"), mode, location, origin, String(urls), String(startAt), "20000"],
      { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
    );
    let stdout = "";
    child.stdout.on("data", (data) => {
      stdout += data;
    });
    await once(child, "exit");
    return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { started: number; finished: number };
  });
  const summaries = await Promise.all(runs);
  const started = Math.min(...summaries.map((s) => s.started));
  const finished = Math.max(...summaries.map((s) => s.finished));
  return finished - started;
}

async function processRows(store: Store, workers: number, urls: number): Promise<void> {
  const origin = await startServer();
  try {
    let base = 0;
    for (const mode of ["process", "store"] as const) {
      const prefix = `/items/`;
      for (let i = 0; i < urls; i++) {
        origin.on(`${prefix}${i}`, async (request, response, hit) => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          json(response, { path: request.url, hit });
        });
      }
      const location = store.location();
      const before = origin.count();
      const wall = await processRun(mode, JSON.stringify(location), origin.origin, urls, workers);
      const requests = origin.count() - before;
      if (mode === "process") base = requests;
      console.log(
        `  ${store.name}: ${workers} processes × ${urls} URLs, singleFlight "${mode}": ` +
          `${requests} origin requests, ${wall} ms wall${mode === "store" ? ` (${base} without)` : ""}`,
      );
    }
  } finally {
    await origin.close();
  }
}

export async function run(): Promise<void> {
  const folder = tempFolder("requestful-bench-bounds-");
  let files = 0;
  const stores: Store[] = [
    {
      name: "SQLite",
      make: (options) => new SQLiteCache(join(folder.path, `b${files++}.sqlite`), options),
      location: () => ({ value: join(folder.path, `p${files++}.sqlite`), options: {} }),
      cleanup: async () => {},
    },
  ];
  const prefixes: string[] = [];
  if ((await pingRedis()) === undefined) {
    stores.push({
      name: "Redis",
      make: (options) => {
        const prefix = uniquePrefix();
        prefixes.push(prefix);
        return RedisCache.connect(REDIS_URL, { ...options, prefix, timeout: 10_000 });
      },
      location: () => {
        const prefix = uniquePrefix();
        prefixes.push(prefix);
        return { value: REDIS_URL, options: { prefix, timeout: 10_000 } };
      },
      cleanup: async () => {
        for (const prefix of prefixes) await removePrefix(prefix);
      },
    });
  } else console.log("\n(Redis rows skipped: no server at 127.0.0.1:6379)");
  const schemas: string[] = [];
  if ((await postgresUnavailable()) === undefined) {
    stores.push({
      name: "PostgreSQL",
      make: (options) => {
        const schema = testSchema("bench");
        schemas.push(schema);
        return PostgresCache.connect(POSTGRES_URL, { ...options, schema, timeout: 10_000 });
      },
      location: () => {
        const schema = testSchema("bench");
        schemas.push(schema);
        return { value: POSTGRES_URL, options: { schema, timeout: 10_000 } };
      },
      cleanup: async () => {
        for (const schema of schemas) await dropSchema(schema);
      },
    });
  } else console.log("\n(PostgreSQL rows skipped: no server)");

  // BENCH_STORES=redis,postgresql runs only those stores' rows; BENCH_PARTS=processes only those parts.
  const only = process.env.BENCH_STORES?.toLowerCase().split(",");
  const parts = process.env.BENCH_PARTS?.split(",");
  const chosen = only === undefined ? stores : stores.filter((store) => only.includes(store.name.toLowerCase()));
  const part = (name: string) => parts === undefined || parts.includes(name);
  try {
    for (const store of chosen) {
      if (!part("hits")) continue;
      report(`Bounds, ${store.name}: the hit path (1 KB JSON, ${HOT} hot keys)`, await hitRows(store));
      report(`Bounds, ${store.name}: eviction throughput (1 KB JSON, maxEntries 1,000)`, await evictionRows(store));
      report(`Single flight, ${store.name}: a session hit`, [await sessionHitRows(store)]);
      report(`Single flight, ${store.name}: a session miss (what the lock costs)`, [await sessionMissRows(store)]);
    }
    console.log("\nSingle flight: origin requests and wall time (origin answers in 100 ms)");
    for (const store of chosen) if (part("processes")) await processRows(store, 4, 50);
  } finally {
    for (const store of stores) await store.cleanup();
    folder.remove();
  }
}
