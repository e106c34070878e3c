/** README.md, "Caching": a cache in an SQLite file answers repeated requests; only misses reach the API. */
import {
  defineSettings,
  JSONPayloadHandler,
  RequestHandler,
  repositoryByPathSegment,
  SQLiteCache,
} from "../src/index.js";
import { catalogue, startCatalogueApi } from "./catalogue-api.js";

// GET /v1/albums/{id} and /v1/tracks/{id} are keyed by their id; nothing else is cached. The id
// alone is enough: the catalogue's ids are unique, these paths take no query, and this cache holds
// this one API.
const byId = (name: string) =>
  defineSettings({
    name,
    fields: ["id"],
    getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[3] : null],
  });

const api = await startCatalogueApi({ latency: 20 });
const cache = SQLiteCache.connectWithPath(".cache/catalogue", {
  repositoryGetter: repositoryByPathSegment(1), // /v1/albums/… → the "albums" repository
  expire: { days: 1 },
});
cache.createRepository(byId("albums"));
cache.createRepository(byId("tracks"));
// The repositories store the bodies as they came; the handler decodes them, hits included, as JSON.
const handler = RequestHandler.create({ cache, payloadHandler: new JSONPayloadHandler() });

const albums = catalogue.albums.slice(0, 5);
const urls = [
  ...albums.map((album) => `${api.url}/v1/albums/${album.id}`),
  ...albums.flatMap((album) => album.tracks.items.map((track) => `${api.url}/v1/tracks/${track.id}`)),
];
for (const pass of [1, 2]) {
  const before = api.requests;
  await Promise.all(urls.map((url) => handler.get(url)));
  console.log(`pass ${pass}: ${urls.length} requests, ${api.requests - before} reached the API`);
}

await handler.close(); // closes the cache too
await api.close();
