/**
 * Cache hits through `handler.get` on SQLite and memory, each beside a raw floor measured in the
 * same run: a prepared better-sqlite3 SELECT plus JSON.parse on a table of the same shape, and a
 * plain Map lookup plus JSON.parse. A hit reads the repository straight away: no Response, no network.
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import {
  defineSettings,
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
import { jsonPayload, type Measurement, measure, report } from "./util.js";

const TARGET = 1.5;
const COUNT = 1_000;
const API = "https://api.example.com";

const ids = Array.from({ length: COUNT }, (_, i) => `t${i}`);
const urls = ids.map((id) => `${API}/tracks/${id}`);
const payloads = ids.map((id) => jsonPayload(1024, id) as JSONValue);

const settings = () =>
  defineSettings<JSONValue>({
    name: "tracks",
    fields: ["id"],
    getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[2] : null],
  });

/** The floor for SQLite: the statement a hand-written cache would prepare, on the same kind of file. */
function sqliteFloor(path: string) {
  const db = new BetterSqlite3(path);
  db.pragma("journal_mode = WAL");
  db.exec(`CREATE TABLE t ("method" NOT NULL, "id" NOT NULL, "expires_at" INTEGER NOT NULL, "payload" NOT NULL,
    PRIMARY KEY ("method", "id"))`);
  const insert = db.prepare("INSERT INTO t VALUES (?, ?, ?, ?)");
  const later = Date.now() + 86_400_000;
  db.transaction(() => {
    for (const [i, id] of ids.entries()) insert.run("GET", id, later, JSON.stringify(payloads[i]));
  })();
  const select = db.prepare(`SELECT "payload" FROM t WHERE "expires_at" > ? AND "method" = ? AND "id" = ?`).pluck();
  return {
    get: (id: string) => JSON.parse(select.get(Date.now(), "GET", id) as string) as unknown,
    close: () => db.close(),
  };
}

function mapFloor() {
  const map = new Map<string, string>(ids.map((id, i) => [`GET ${id}`, JSON.stringify(payloads[i])]));
  return { get: (id: string) => JSON.parse(map.get(`GET ${id}`) as string) as unknown, close: () => {} };
}

async function compare(
  title: string,
  cache: ResponseCache,
  floor: { get(id: string): unknown; close(): void },
  floorName: string,
) {
  const repository = cache.createRepository(settings());
  await using handler = RequestHandler.create({
    cache,
    payloadHandler: new JSONPayloadHandler(),
    fetch: () => Promise.reject(new Error("a cache hit must not reach the network")),
  });
  await handler.connect();
  await repository.saveResponses(ids.map((id, i): [Key, JSONValue] => [["GET", id], payloads[i] as JSONValue]));

  // Floor and subject take turns, five rounds each, so that a change in the machine's load weighs
  // on both alike; each keeps its median round.
  let i = 0;
  let j = 0;
  const floors: Measurement[] = [];
  const subjects: Measurement[] = [];
  for (let round = 0; round < 5; round++) {
    floors.push(await measure(`${floorName} + JSON.parse`, () => floor.get(ids[i++ % COUNT] as string), 200));
    subjects.push(await measure("handler.get hit", () => handler.get(urls[j++ % COUNT] as string), 200));
  }
  floor.close();
  report(title, [{ floor: median(floors), subject: median(subjects), target: TARGET }]);
}

function median(rounds: Measurement[]): Measurement {
  return [...rounds].sort((a, b) => a.usPerOp - b.usPerOp)[Math.floor(rounds.length / 2)] as Measurement;
}

export async function run(): Promise<void> {
  const folder = tempFolder("requestful-bench-");
  try {
    await compare(
      "request handler, SQLite (file, WAL), 1 KB JSON hits",
      SQLiteCache.connectWithPath(join(folder.path, "cache"), { repositoryGetter: repositoryByPathSegment(0) }),
      sqliteFloor(join(folder.path, "floor.sqlite")),
      "prepared better-sqlite3 SELECT",
    );
    await compare(
      "request handler, memory, 1 KB JSON hits",
      new MemoryCache({ repositoryGetter: repositoryByPathSegment(0) }),
      mapFloor(),
      "Map lookup",
    );
  } finally {
    folder.remove();
  }
}
