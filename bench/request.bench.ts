/**
 * Cache hits through `handler.get` on SQLite and memory, each beside a raw floor measured in the
 * same run: a prepared better-sqlite3 SELECT plus JSON.parse on a table of the same shape, and a
 * plain Map lookup plus JSON.parse. A hit reads the repository straight away: no Response, no network.
 */
import { join } from "node:path";
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
import { type Floor, mapFloor, sqliteFloor } from "./floors.js";
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
    payloadHandler: new JSONPayloadHandler(),
    getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[2] : null],
  });

async function compare(title: string, cache: ResponseCache, floor: Floor, floorName: string) {
  const repository = cache.createRepository(settings());
  await using handler = RequestHandler.create({
    cache,
    payloadHandler: new JSONPayloadHandler(),
    fetch: () => Promise.reject(new Error("a cache hit must not reach the network")),
  });
  await handler.connect();
  const entries = ids.map((id, i): [Key, JSONValue] => [["GET", id], payloads[i] as JSONValue]);
  await repository.saveResponses(entries);
  floor.saveMany(entries);

  // Floor and subject take turns, five rounds each, so that a change in the machine's load weighs
  // on both alike; each keeps its median round.
  let i = 0;
  let j = 0;
  const floors: Measurement[] = [];
  const subjects: Measurement[] = [];
  for (let round = 0; round < 5; round++) {
    floors.push(await measure(`${floorName} + JSON.parse`, () => floor.get(["GET", ids[i++ % COUNT] as string]), 200));
    subjects.push(await measure("handler.get hit", () => handler.get(urls[j++ % COUNT] as string), 200));
  }
  report(title, [{ floor: median(floors), subject: median(subjects), target: TARGET }]);
}

function median(rounds: Measurement[]): Measurement {
  return [...rounds].sort((a, b) => a.usPerOp - b.usPerOp)[Math.floor(rounds.length / 2)] as Measurement;
}

export async function run(): Promise<void> {
  const folder = tempFolder("requestful-bench-");
  try {
    const sqlite = sqliteFloor(join(folder.path, "floor.sqlite"));
    await compare(
      "request handler, SQLite (file, WAL), 1 KB JSON hits",
      SQLiteCache.connectWithPath(join(folder.path, "cache"), { repositoryGetter: repositoryByPathSegment(0) }),
      sqlite,
      "prepared better-sqlite3 SELECT",
    );
    sqlite.db.close();
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
