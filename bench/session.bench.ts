/**
 * Session and request handler speed on a realistic workload (bench/workload.ts): 2,000 distinct
 * URLs of about 1 KB of nested JSON, each with its own `ETag`, and 200 URLs of about 100 KB, served
 * by a local JSON API in a worker thread; hits cycle through every URL, not one hot one.
 *
 * Each figure is printed beside its floor, measured in the same run, and the target ratio:
 * - `session.fetch` hit reading `json()`: `Map` + `new Response()` + `json()`, and on SQLite also a
 *   prepared better-sqlite3 `SELECT` + `JSON.parse` on a table of the same shape;
 * - `handler.get` hit: the raw SQLite floor, and a `Map` of JSON text + `JSON.parse` for memory;
 * - 64 hits in flight: the raw floor one at a time (the target is at least its hits per second);
 * - what the required work costs at least, beside the same floors and without a target: the rows
 *   the SQLite session stored, read raw (the columns a response is made from, or those the HTTP
 *   check of a hit reads) and parsed, and the cheapest real `Response`: a target below these lies
 *   below what the work it measures costs;
 * - a miss: a plain `fetch` + `json()` of the same kind of URL; for SQLite also a hand-written
 *   cache's miss (fetch, parse, one prepared INSERT at `synchronous: "full"` on the same kind of file).
 *   The miss rows show what each step costs: the session and a store in memory, SQLite's durable
 *   write (`"full"` against `"normal"`), and the lock across processes (`singleFlight: "process"`).
 *
 * Floor and subject are measured in short blocks taken in turns, and the median block of each is
 * printed, so that a burst of load on the machine does not land on one side only. The misses are
 * timed one request at a time, floor and subject in turns on the same keep-alive pool (which goes
 * first alternates), so that both meet the same connections and the same server. A plain fetch
 * itself gets faster over a process's first tens of thousands of requests: compare a row's ratio,
 * not one row's floor with another's.
 *
 * The session given a cache keeps a default HTTP repository (`fallback`, on by default): a URL that
 * no repository of the cache claims is still keyed by its URL and stored there when the response is
 * storable. The last rows tell it apart from a real pass-through, a session with `fallback: false`.
 *
 * `BENCH_PARTS=hits` or `BENCH_PARTS=misses` runs only those rows (both by default).
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import {
  CachedSession,
  JSONPayloadHandler,
  type JSONValue,
  type Key,
  MemoryCache,
  RequestHandler,
  type ResponseCache,
  repositoryByPathSegment,
  SQLiteCache,
} from "../src/index.js";
import { tempFolder } from "../test/helpers/temp.js";
import { type Floor, mapFloor, sqliteFloor } from "./floors.js";
import { type Measurement, report } from "./util.js";
import { PAGE_COUNT, startApi, TRACK_COUNT, workloadSettings } from "./workload.js";

const IN_FLIGHT = 64;
const BLOCKS = 30;
const BLOCK_MS = 15;

const settings = workloadSettings;

function prepare(cache: ResponseCache): ResponseCache {
  cache.repositoryGetter = repositoryByPathSegment(1);
  cache.createRepository(settings("tracks"));
  cache.createRepository(settings("pages"));
  cache.createRepository(settings("misses"));
  return cache;
}

interface Work {
  label: string;
  run: () => Promise<unknown>;
  /** Requests per call of `run`. */
  count?: number;
}

/** Runs `work` for about `ms` milliseconds; µs per request. */
async function block(work: Work, ms: number): Promise<number> {
  let calls = 0;
  const start = performance.now();
  const until = start + ms;
  do {
    await work.run();
    calls++;
  } while (performance.now() < until);
  return ((performance.now() - start) * 1_000) / (calls * (work.count ?? 1));
}

function toMeasurement(label: string, samples: number[]): Measurement {
  const sorted = [...samples].sort((a, b) => a - b);
  const usPerOp = sorted[Math.floor(sorted.length / 2)] as number;
  return { label, usPerOp, opsPerSec: 1_000_000 / usPerOp };
}

/**
 * Measures the floor and the subject in short blocks taken in turns (which goes first alternates),
 * after a warm-up of each, and keeps the median block of each: load on the machine falls on both.
 */
async function compare(floor: Work, subject: Work, target?: number, blocks = BLOCKS, ms = BLOCK_MS) {
  await block(floor, ms * 10);
  await block(subject, ms * 10);
  const floors: number[] = [];
  const subjects: number[] = [];
  for (let turn = 0; turn < blocks; turn++) {
    if (turn % 2 === 0) {
      floors.push(await block(floor, ms));
      subjects.push(await block(subject, ms));
    } else {
      subjects.push(await block(subject, ms));
      floors.push(await block(floor, ms));
    }
  }
  const row = { floor: toMeasurement(floor.label, floors), subject: toMeasurement(subject.label, subjects) };
  return target === undefined ? row : { ...row, target };
}

/**
 * For network-bound work: one request of the floor and one of the subject in turns (which goes
 * first alternates), each timed on its own, after a warm-up; the median of each.
 */
async function alternating(floor: Work, subject: Work, target?: number, count = 1_000) {
  for (let i = 0; i < 100; i++) await Promise.all([floor.run(), subject.run()]);
  const floors: number[] = [];
  const subjects: number[] = [];
  const time = async (work: Work, into: number[]) => {
    const start = performance.now();
    await work.run();
    into.push((performance.now() - start) * 1_000);
  };
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      await time(floor, floors);
      await time(subject, subjects);
    } else {
      await time(subject, subjects);
      await time(floor, floors);
    }
  }
  const row = { floor: toMeasurement(floor.label, floors), subject: toMeasurement(subject.label, subjects) };
  return target === undefined ? row : { ...row, target };
}

function many(count: number, one: () => Promise<unknown>): () => Promise<unknown> {
  return () => Promise.all(Array.from({ length: count }, one));
}

async function readJson(response: Promise<Response>): Promise<unknown> {
  return (await response).json();
}

/** Fetches every URL once, 16 at a time, reading each body; a request that fails is tried again. */
async function fill(get: (url: string) => Promise<unknown>, urls: readonly string[]): Promise<void> {
  const once = async (url: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await get(url);
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  };
  for (let i = 0; i < urls.length; i += 16) await Promise.all(urls.slice(i, i + 16).map(once));
}

/** Cycles through `items`, one per call. */
function cycle<T>(items: readonly T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length] as T;
}

export async function run(): Promise<void> {
  const api = await startApi();
  const folder = tempFolder("requestful-bench-session-");
  const large = { maxEntries: 100_000, maxBytes: 1024 * 1024 * 1024 };
  const memory = new CachedSession({ cache: prepare(new MemoryCache(large)) });
  const passThrough = new CachedSession({ cache: prepare(new MemoryCache(large)), fallback: false });
  const sqliteCache = prepare(SQLiteCache.connectWithPath(join(folder.path, "session")));
  const sqlite = new CachedSession({ cache: sqliteCache });
  // The same cache without the lock across processes: what the lock costs a miss.
  const sqliteLocal = new CachedSession({ cache: sqliteCache, singleFlight: "process" });
  const sqliteNormal = new CachedSession({
    cache: prepare(SQLiteCache.connectWithPath(join(folder.path, "normal"), { synchronous: "normal" })),
  });
  const handlerOn = (cache: ResponseCache) =>
    RequestHandler.create({ cache: prepare(cache), payloadHandler: new JSONPayloadHandler() });
  const memoryHandler = handlerOn(new MemoryCache(large));
  const sqliteHandler = handlerOn(SQLiteCache.connectWithPath(join(folder.path, "handler")));
  const rawSqlite = sqliteFloor(join(folder.path, "floor.sqlite"));
  const rawMap = mapFloor();
  for (const session of [memory, passThrough, sqlite, sqliteNormal]) await session.cache.connect();
  await memoryHandler.connect();
  await sqliteHandler.connect();
  // The SQLite session's own file, read raw: the lower bounds below read the rows it stored.
  const rawSession = new BetterSqlite3(join(folder.path, "session.sqlite"), { readonly: true });
  const parts = process.env.BENCH_PARTS?.split(",");
  const part = (name: string) => parts === undefined || parts.includes(name);
  console.log(
    `\nworkload: ${TRACK_COUNT} URLs of ~1 KB nested JSON and ${PAGE_COUNT} of ~100 KB, each with its own ETag; hits cycle through all of them`,
  );
  try {
    for (const [kind, count, size] of [
      ["tracks", TRACK_COUNT, "1 KB"],
      ["pages", PAGE_COUNT, "100 KB"],
    ] as const) {
      if (!part("hits")) break;
      const ids = Array.from({ length: count }, (_, i) => `${kind[0]}${i}`);
      const urls = ids.map((id) => `${api.base}/v1/${kind}/${id}`);
      const texts = new Map<string, string>();
      await fill(async (url) => texts.set(url, await (await fetch(url)).text()), urls);
      for (const session of [memory, sqlite]) await fill((url) => readJson(session.fetch(url)), urls);
      for (const handler of [memoryHandler, sqliteHandler]) await fill((url) => handler.get(url), urls);
      const keys = ids.map((id): Key => ["GET", id]);
      const entries = keys.map((key, i): [Key, JSONValue] => [key, JSON.parse(texts.get(urls[i] as string) as string)]);
      for (const floor of [rawSqlite, rawMap] as Floor[]) floor.saveMany(entries);

      const nextUrl = cycle(urls);
      const nextKey = cycle(keys);
      const responseFloor: Work = {
        label: "floor: Map.get + new Response() + json()",
        run: async () => new Response(texts.get(nextUrl())).json(),
      };
      const sqliteRaw: Work = {
        label: "floor: prepared better-sqlite3 SELECT + JSON.parse",
        run: async () => rawSqlite.get(nextKey()),
      };
      const mapRaw: Work = { label: "floor: Map of JSON text + JSON.parse", run: async () => rawMap.get(nextKey()) };
      const hit = (session: CachedSession) => () => readJson(session.fetch(nextUrl()));
      const big = size !== "1 KB";
      // A 100 KB hit takes about a millisecond: longer blocks (as many, since garbage collection of
      // the large bodies lands in some blocks and not in others).
      const versus = (floor: Work, subject: Work, target?: number) =>
        big ? compare(floor, subject, target, 30, 60) : compare(floor, subject, target);

      report(`session.fetch hit, ${size} JSON, body read with json() (µs per request)`, [
        await versus(responseFloor, { label: "memory hit", run: hit(memory) }, big ? 1.1 : 0.6),
        await versus(responseFloor, { label: "SQLite hit", run: hit(sqlite) }, big ? 1.1 : 0.6),
        await versus(sqliteRaw, { label: "SQLite hit", run: hit(sqlite) }, big ? 1.1 : 1.5),
      ]);
      report(`handler.get hit, ${size} JSON (µs per request)`, [
        await versus(sqliteRaw, { label: "SQLite handler.get", run: () => sqliteHandler.get(nextUrl()) }, 1.1),
        await versus(mapRaw, { label: "memory handler.get", run: () => memoryHandler.get(nextUrl()) }, 1.1),
      ]);
      // The least that the required work costs, with no session, no routing, no HTTP rules: the
      // stored rows read raw from the SQLite session's own file (the columns a faithful response is
      // made from, or those the HTTP check of a hit needs), parsed, and the cheapest real Response.
      // A target below one of these lies below what the work the issue asks for costs.
      const table = big ? "pages" : "tracks";
      const select = (columns: string) =>
        rawSession
          .prepare(`SELECT ${columns} FROM "${table}" WHERE "expires_at" > ? AND "method" = ? AND "id" = ?`)
          .raw();
      const responseRow = select(`"cached_at", "expires_at", "payload", "status", "headers", "url", "meta"`);
      const checkRow = select(`"payload", "status", "meta"`);
      const leastResponse: Work = {
        label: "least: SELECT of a response's 7 columns + JSON.parse + new Response(null)",
        run: async () => {
          const key = nextKey();
          const row = responseRow.get(Date.now(), key[0], key[1]) as unknown[];
          return [JSON.parse(row[2] as string), new Response(null)];
        },
      };
      const leastCheck: Work = {
        label: "least: SELECT payload, status, meta + JSON.parse",
        run: async () => {
          const key = nextKey();
          return JSON.parse((checkRow.get(Date.now(), key[0], key[1]) as unknown[])[0] as string);
        },
      };
      const leastMemory: Work = {
        label: "least: Map of JSON text + JSON.parse + new Response(null)",
        run: async () => [rawMap.get(nextKey()), new Response(null)],
      };
      report(`What the required work costs at least, ${size} JSON, beside the floors (µs per request)`, [
        await versus(sqliteRaw, leastResponse),
        await versus(sqliteRaw, leastCheck),
        await versus(mapRaw, leastMemory),
      ]);
      const inFlight = (session: CachedSession) => ({ run: many(IN_FLIGHT, hit(session)), count: IN_FLIGHT });
      report(`session.fetch, ${IN_FLIGHT} hits in flight, ${size} JSON, against the raw floor one at a time`, [
        await versus(sqliteRaw, { label: `SQLite, ${IN_FLIGHT} in flight`, ...inFlight(sqlite) }, 1),
        await versus(mapRaw, { label: `memory, ${IN_FLIGHT} in flight`, ...inFlight(memory) }, 1),
      ]);
    }

    // A miss: every request asks for a resource not asked for before.
    let n = 0;
    const next = (prefix: string) => `${api.base}/v1/misses/${prefix}${n++}`;
    const plain: Work = { label: "plain fetch + json(), uncached", run: () => readJson(fetch(next("plain"))) };
    const miss = (label: string, session: CachedSession, prefix: string): Work => ({
      label,
      run: () => readJson(session.fetch(next(prefix))),
    });
    const elsewhere = (label: string, session: CachedSession, prefix: string): Work => ({
      label,
      run: () => readJson(session.fetch(`${api.base}/v1/elsewhere/${prefix}${n++}`)),
    });
    // What a hand-written cache on the same SQLite file would do for a miss: the durable write is
    // most of what a SQLite miss adds to a plain fetch, and this floor pays it too.
    const rawUpsert = rawSqlite.db.prepare(
      `INSERT INTO t ("method", "id", "cached_at", "expires_at", "payload", "status", "headers", "url")
       VALUES ('GET', ?, ?, ?, ?, ?, ?, ?)`,
    );
    const handWritten: Work = {
      label: "fetch + text() + JSON.parse + prepared INSERT (full)",
      run: async () => {
        const url = next("raw");
        const response = await fetch(url);
        const text = await response.text();
        const value: unknown = JSON.parse(text);
        const now = Date.now();
        const headers = JSON.stringify([...response.headers]);
        rawUpsert.run(url, now, now + 86_400_000, text, response.status, headers, url);
        return value;
      },
    };
    if (part("misses")) {
      // Run alone, the misses would start on code not yet optimised (the hit rows fetch thousands
      // of URLs first): as many requests of each kind warm it up as the hit rows' fills do.
      if (!part("hits")) {
        const warm = [memory, sqlite, sqliteLocal, sqliteNormal].map((session) => miss("", session, "w"));
        for (const work of [plain, ...warm]) {
          for (let i = 0; i < 2_000; i++) await work.run();
        }
      }
      report("session.fetch miss (network, store, body read with json()), 1 KB JSON (µs per request)", [
        await alternating(plain, miss("memory miss", memory, "m"), 1.3),
        await alternating(plain, miss('SQLite miss (synchronous: "full", the default)', sqlite, "s"), 1.5),
        await alternating(handWritten, miss('SQLite miss (synchronous: "full", the default)', sqlite, "s")),
        await alternating(plain, miss('SQLite miss (synchronous: "normal")', sqliteNormal, "n")),
        await alternating(plain, miss('SQLite miss (singleFlight: "process": no lock)', sqliteLocal, "l")),
        await alternating(plain, elsewhere("memory miss, default HTTP repository", memory, "e")),
        await alternating(plain, elsewhere("pass-through (fallback: false)", passThrough, "p")),
      ]);
      // The rows above time each request alone, and give work a miss leaves for later (the sync of
      // the log, a checkpoint) the floor's turn. Here misses follow one another for 100 ms blocks:
      // what a job that fetches one new URL after another sees, background work included.
      report("session.fetch misses one after another, 100 ms blocks, 1 KB JSON (µs per request)", [
        await compare(plain, miss("memory misses", memory, "rm"), undefined, 20, 100),
        await compare(plain, miss('SQLite misses (synchronous: "full")', sqlite, "rs"), undefined, 20, 100),
        await compare(plain, miss('SQLite misses (synchronous: "normal")', sqliteNormal, "rn"), undefined, 20, 100),
      ]);
    }
    for (const [name, session] of [
      ["memory", memory],
      ["SQLite", sqlite],
      ["SQLite (no lock)", sqliteLocal],
      ["SQLite (normal)", sqliteNormal],
      ["pass-through", passThrough],
    ] as const) {
      const { total } = session.stats();
      console.log(
        `\n  ${name} session: ${total.requests} requests, ${total.hits} hits, ${total.misses} misses, ${total.bypassed} bypassed, ${total.stores} stored, ${total.errors} errors`,
      );
    }
  } finally {
    await memory.close();
    await passThrough.close();
    await sqliteLocal.close();
    await sqlite.close();
    await sqliteNormal.close();
    await memoryHandler.close();
    await sqliteHandler.close();
    rawSqlite.db.close();
    rawSession.close();
    await api.stop();
    folder.remove();
  }
}
