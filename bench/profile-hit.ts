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
import { startApi, TRACK_COUNT } from "./workload.js";

const settings = (name: string) =>
  defineSettings<JSONValue>({
    name,
    fields: ["id"],
    getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[3] : null],
    payloadHandler: new JSONPayloadHandler(),
  });
function prepare(cache: ResponseCache) {
  cache.repositoryGetter = repositoryByPathSegment(1);
  cache.createRepository(settings("tracks"));
  return cache;
}
const api = await startApi();
const folder = tempFolder("prof-");
const kind = process.argv[2] ?? "memory";
const cache =
  kind === "memory" ? new MemoryCache({ maxEntries: 100_000 }) : SQLiteCache.connectWithPath(join(folder.path, "s"));
const session = new CachedSession({ cache: prepare(cache) });
await session.cache.connect();
const urls = Array.from({ length: TRACK_COUNT }, (_, i) => `${api.base}/v1/tracks/t${i}`);
for (const u of urls) await (await session.fetch(u)).json();
const N = Number(process.argv[3] ?? 200000);

import { writeFileSync } from "node:fs";
import { Session as Inspector } from "node:inspector/promises";

for (let i = 0; i < 40000; i++) await (await session.fetch(urls[i % urls.length] as string)).json();
const inspector = new Inspector();
inspector.connect();
if (process.argv[4]) {
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.start");
}
const t = performance.now();
for (let i = 0; i < N; i++) await (await session.fetch(urls[i % urls.length] as string)).json();
if (process.argv[4]) {
  const { profile } = await inspector.post("Profiler.stop");
  writeFileSync(process.argv[4], JSON.stringify(profile));
}
console.log(kind, ((performance.now() - t) * 1000) / N, "µs/hit");
await session.close();
await api.stop();
folder.remove();
