/**
 * Session speed: µs per `session.fetch` hit with the body read as JSON (1 KB and 100 KB payloads,
 * memory and SQLite), one at a time and 64 in flight, beside the floor measured in the same run: a
 * Map lookup plus `new Response(body)` and `json()`. Then a miss beside a plain uncached fetch of
 * the same kind of resource from a local server (in a worker thread, so that its work is not timed).
 *
 * Floor and subject are measured in short blocks taken in turns, and the median block of each is
 * printed, so that a burst of load on the machine does not land on one side only.
 */
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import {
  type AnyRepository,
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
import { jsonPayload, type Measurement, report } from "./util.js";

const IN_FLIGHT = 64;
const BLOCKS = 40;
const BLOCK_MS = 15;
const MEMORY_TARGET = 1.2;
const SQLITE_TARGET = 1.5;
const MISS_TARGET = 1.2;

/** A JSON API in a worker thread: /v1/{kind}/s{bytes}-{id} answers a track of about that many bytes. */
const SERVER_SOURCE = `
const { createServer } = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
const server = createServer((request, response) => {
  const match = /^\\/v1\\/\\w+\\/s(\\d+)-(.+)$/.exec(request.url);
  if (match === null) { response.writeHead(404).end(); return; }
  const template = workerData[match[1]];
  if (template === undefined) { response.writeHead(404).end(); return; }
  const body = template.replace("__ID__", match[2]);
  response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  response.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
parentPort.on("message", () => server.close(() => process.exit(0)));
`;

interface Api {
  base: string;
  stop(): Promise<void>;
}

async function startApi(sizes: readonly number[]): Promise<Api> {
  const templates: Record<string, string> = {};
  for (const size of sizes) templates[size] = JSON.stringify(jsonPayload(size, "__ID__"));
  const worker = new Worker(SERVER_SOURCE, { eval: true, workerData: templates });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      worker.postMessage("stop");
      await new Promise((resolve) => worker.once("exit", resolve));
    },
  };
}

function trackSettings() {
  return defineSettings<JSONValue>({
    name: "tracks",
    fields: ["id"],
    getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[3] : null],
    payloadHandler: new JSONPayloadHandler(),
  });
}

async function sessionOn(cache: ResponseCache): Promise<CachedSession> {
  cache.repositoryGetter = repositoryByPathSegment(1);
  cache.createRepository(trackSettings());
  await cache.connect();
  return new CachedSession({ cache });
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
async function versus(floor: Work, subject: Work, target?: number, blocks = BLOCKS, ms = BLOCK_MS) {
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
async function alternating(floor: Work, subject: Work, target?: number, count = 1_500) {
  for (let i = 0; i < 200; i++) await Promise.all([floor.run(), subject.run()]);
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

export async function run(): Promise<void> {
  const sizes = [1024, 100 * 1024];
  const api = await startApi(sizes);
  const folder = tempFolder("requestful-bench-session-");
  const memory = await sessionOn(new MemoryCache({ maxEntries: 100_000, maxBytes: 1024 * 1024 * 1024 }));
  const sqliteCache = SQLiteCache.connectWithPath(join(folder.path, "session"));
  const sqlite = await sessionOn(sqliteCache);
  const sqliteNormal = await sessionOn(
    SQLiteCache.connectWithPath(join(folder.path, "normal"), { synchronous: "normal" }),
  );
  try {
    for (const size of sizes) {
      const label = size >= 1024 * 1024 ? `${size / 1024 / 1024} MB` : `${size / 1024} KB`;
      const url = `${api.base}/v1/tracks/s${size}-hot`;
      // Each session stores the resource once; every fetch below is a hit.
      for (const session of [memory, sqlite]) await (await session.fetch(url)).arrayBuffer();
      const body = await (await memory.fetch(url)).text();
      const map = new Map([[url, body]]);
      const floorOne = async () => new Response(map.get(url)).json();
      const floor: Work = { label: "floor: Map.get + new Response + json()", run: floorOne };
      const floorMany: Work = {
        label: `floor, ${IN_FLIGHT} in flight`,
        run: many(IN_FLIGHT, floorOne),
        count: IN_FLIGHT,
      };
      const hit = (session: CachedSession) => () => readJson(session.fetch(url));

      report(`session.fetch hit, ${label} JSON, body read with json() (µs per request)`, [
        await versus(floor, { label: "memory hit", run: hit(memory) }, MEMORY_TARGET),
        await versus(floor, { label: "SQLite hit", run: hit(sqlite) }, SQLITE_TARGET),
        await versus(
          floorMany,
          { label: `memory hit, ${IN_FLIGHT} in flight`, run: many(IN_FLIGHT, hit(memory)), count: IN_FLIGHT },
          MEMORY_TARGET,
        ),
        await versus(
          floorMany,
          { label: `SQLite hit, ${IN_FLIGHT} in flight`, run: many(IN_FLIGHT, hit(sqlite)), count: IN_FLIGHT },
          SQLITE_TARGET,
        ),
      ]);

      // Where an SQLite hit's time goes: the read alone, through the repository and as one raw statement.
      const tracks = sqliteCache.get("tracks") as AnyRepository;
      const select = sqliteCache.connection
        .prepare(`SELECT "payload" FROM "tracks" WHERE "expires_at" > ? AND "method" = ? AND "id" = ?`)
        .pluck();
      const id = `s${size}-hot`;
      report(`for scale: one SQLite read of the ${label} entry, no HTTP (µs per read)`, [
        await versus(
          { label: "raw better-sqlite3 SELECT by key", run: async () => select.get(Date.now(), "GET", id) },
          { label: "repository.getEntry", run: () => tracks.getEntry(["GET", id]) },
        ),
      ]);
    }

    // A miss: every request asks for a resource not asked for before.
    let n = 0;
    const next = (prefix: string) => `${api.base}/v1/tracks/s1024-${prefix}${n++}`;
    const plain: Work = { label: "plain fetch + json(), uncached", run: () => readJson(fetch(next("plain"))) };
    const miss = (label: string, session: CachedSession, prefix: string): Work => ({
      label,
      run: () => readJson(session.fetch(next(prefix))),
    });
    const through: Work = {
      label: "session.fetch of a URL with no repository",
      run: () => readJson(memory.fetch(`${api.base}/v1/elsewhere/s1024-${n++}`)),
    };
    report("session.fetch miss (network, store, body read with json()), 1 KB JSON (µs per request)", [
      await alternating(plain, miss("memory miss", memory, "m"), MISS_TARGET),
      await alternating(plain, miss('SQLite miss (synchronous: "full", the default)', sqlite, "s"), MISS_TARGET),
      await alternating(plain, miss('SQLite miss (synchronous: "normal")', sqliteNormal, "n"), MISS_TARGET),
      await alternating(plain, through),
    ]);

    // Where an SQLite miss's time goes: the durable write of the entry.
    const raw = sqliteCache.connection.prepare(
      `INSERT INTO "tracks" ("method", "id", "name", "cached_at", "expires_at", "payload", "status", "headers", "url")
       VALUES ('GET', ?, NULL, 0, 1e15, ?, 200, '[]', '')`,
    );
    const text = JSON.stringify(jsonPayload(1024, "raw"));
    const bytes = new TextEncoder().encode(text);
    const head = { status: 200, headers: [["content-type", "application/json"]] as [string, string][], url: "" };
    const tracks = sqliteCache.get("tracks") as AnyRepository;
    report('for scale: one SQLite write of a 1 KB entry (synchronous: "full"), no HTTP (µs per write)', [
      await versus(
        { label: "raw better-sqlite3 INSERT", run: async () => raw.run(`raw${n++}`, text) },
        { label: "repository.saveResponseBytes", run: () => tracks.saveResponseBytes(["GET", `w${n++}`], head, bytes) },
        undefined,
        20,
        20,
      ),
    ]);
    const { total } = memory.stats();
    console.log(
      `\n  memory session: ${total.requests} requests, ${total.hits} hits, ${total.misses} misses, ${total.errors} errors`,
    );
  } finally {
    await memory.close();
    await sqlite.close();
    await sqliteNormal.close();
    await api.stop();
    folder.remove();
  }
}
