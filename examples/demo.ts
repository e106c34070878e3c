/**
 * `npm start`: repositories on the embedded SQLite default. Saves a catalogue of tracks and albums,
 * reads it back one by one and in bulk, counts, iterates and clears, and prints what it did.
 */
import { join } from "node:path";
import {
  defineSettings,
  JSONPayloadHandler,
  type JSONValue,
  repositoryByPathSegment,
  SQLiteCache,
} from "../src/index.js";

const API = "https://api.example.com";
const path = join(process.cwd(), ".cache", "demo");

function byIdSettings(name: string) {
  return defineSettings<JSONValue>({
    name,
    fields: ["id"],
    getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[3] : null],
    getName: (payload) => (payload as { name?: string }).name,
    payloadHandler: new JSONPayloadHandler(),
  });
}

const started = performance.now();
await using cache = SQLiteCache.connectWithPath(path, {
  repositoryGetter: repositoryByPathSegment(1),
  expire: { weeks: 2 },
});
const tracks = cache.createRepository(byIdSettings("tracks"));
const albums = cache.createRepository(byIdSettings("albums"));
await cache.connect();

const before = { tracks: await tracks.count(), albums: await albums.count() };
const rows: [string, string][] = [];
const time = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const result = await work();
  rows.push([label, `${(performance.now() - t0).toFixed(1)} ms`]);
  return result;
};

const trackIds = Array.from({ length: 400 }, (_, i) => `t${String(i).padStart(4, "0")}`);
const albumIds = Array.from({ length: 40 }, (_, i) => `a${String(i).padStart(3, "0")}`);
const request = (kind: string, id: string) => new Request(`${API}/v1/${kind}/${id}`);

await time("save 400 tracks in one transaction", () =>
  cache.saveResponses(
    trackIds.map((id, i) => ({
      request: request("tracks", id),
      response: Response.json({ id, name: `Track ${i}`, album: albumIds[i % 40], duration_ms: 180_000 + i }),
    })),
  ),
);
await time("save 40 albums one by one", async () => {
  for (const [i, id] of albumIds.entries()) {
    await cache.saveResponse([request("albums", id), { id, name: `Album ${i}`, tracks: 10 }]);
  }
});
const one = await time("read 1 track", () => cache.getResponse(request("tracks", "t0042")));
const many = await time("read 400 tracks in one statement", () =>
  cache.getResponses(trackIds.map((id) => request("tracks", id))),
);
let named = 0;
await time("iterate every album", async () => {
  for await (const [, payload] of albums) if ((payload as { name?: string }).name) named++;
});
const removed = await time("clear expired entries", () => tracks.clear(true));

console.log(`requestful demo: repositories on SQLite at ${cache.path}\n`);
console.log(`entries before this run: ${before.tracks} tracks, ${before.albums} albums (they persist between runs)`);
console.log(`read back: ${JSON.stringify(one)}`);
console.log(`bulk read: ${many.length} of ${trackIds.length} tracks found; albums iterated with a name: ${named}`);
console.log(`expired entries removed: ${removed}`);
console.log(`entries now: ${await tracks.count()} tracks, ${await albums.count()} albums\n`);
const width = Math.max(...rows.map(([label]) => label.length));
for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value.padStart(10)}`);
console.log(`\ntotal ${(performance.now() - started).toFixed(0)} ms; run it again to see the entries kept.`);
