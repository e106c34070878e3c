/**
 * A CPU profile of the hit loop, for finding where a hit's time goes (not a benchmark: see
 * session.bench.ts for figures beside their floors).
 *
 *   npm run build && node --import tsx --import ./bench/shipped.mjs bench/profile-hit.ts SUBJECT [HITS] [PROFILE_FILE]
 *
 * SUBJECT is `session-memory`, `session-sqlite`, `handler-memory` or `handler-sqlite`. Every URL of
 * the bench workload is fetched once, then HITS hits cycle through them (after a warm-up); with
 * PROFILE_FILE, the hits alone are profiled into that file (open it in Chrome's DevTools). With
 * PAGES=1 in the environment, the URLs are the workload's 100 KB pages instead of its 1 KB tracks.
 */
import { writeFileSync } from "node:fs";
import { Session as Inspector } from "node:inspector/promises";
import { join } from "node:path";
import {
  CachedSession,
  JSONPayloadHandler,
  MemoryCache,
  RequestHandler,
  type ResponseCache,
  repositoryByPathSegment,
  SQLiteCache,
} from "../src/index.js";
import { tempFolder } from "../test/helpers/temp.js";
import { PAGE_COUNT, startApi, TRACK_COUNT, workloadSettings } from "./workload.js";

const [subject = "session-memory", hitsArg = "200000", profileFile] = process.argv.slice(2);
const [kind, store] = subject.split("-") as ["session" | "handler", "memory" | "sqlite"];

const api = await startApi();
const folder = tempFolder("requestful-profile-");
const cache: ResponseCache =
  store === "sqlite"
    ? SQLiteCache.connectWithPath(join(folder.path, "profile"))
    : new MemoryCache({ maxEntries: 100_000, maxBytes: 1024 * 1024 * 1024 });
cache.repositoryGetter = repositoryByPathSegment(1);
for (const name of ["tracks", "pages"]) cache.createRepository(workloadSettings(name));
const session = kind === "session" ? new CachedSession({ cache }) : undefined;
const handler =
  kind === "handler" ? RequestHandler.create({ cache, payloadHandler: new JSONPayloadHandler() }) : undefined;
await cache.connect();
const get = session
  ? async (url: string) => (await session.fetch(url)).json()
  : (url: string) => (handler as RequestHandler<unknown>).get(url);

const pages = process.env.PAGES === "1";
const urls = pages
  ? Array.from({ length: PAGE_COUNT }, (_, i) => `${api.base}/v1/pages/p${i}`)
  : Array.from({ length: TRACK_COUNT }, (_, i) => `${api.base}/v1/tracks/t${i}`);
for (const url of urls) await get(url);
for (let i = 0; i < (pages ? 400 : 40_000); i++) await get(urls[i % urls.length] as string);

const hits = Number(hitsArg);
const inspector = new Inspector();
if (profileFile !== undefined) {
  inspector.connect();
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.setSamplingInterval", { interval: 50 });
  await inspector.post("Profiler.start");
}
const start = performance.now();
for (let i = 0; i < hits; i++) await get(urls[i % urls.length] as string);
const usPerHit = ((performance.now() - start) * 1_000) / hits;
if (profileFile !== undefined) {
  const { profile } = await inspector.post("Profiler.stop");
  writeFileSync(profileFile, JSON.stringify(profile));
}
console.log(`${subject}: ${usPerHit.toFixed(2)} µs per hit`);
await session?.close();
await handler?.close();
await cache.close();
await api.stop();
folder.remove();
