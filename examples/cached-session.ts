/** README.md and docs/session.md, "The cached session": a repository of your own for one endpoint. */
import {
  CachedResponse,
  CachedSession,
  defineSettings,
  JSONPayloadHandler,
  repositoryByPathSegment,
  SQLiteCache,
} from "../src/index.js";
import { catalogue, startCatalogueApi, type Track } from "./catalogue-api.js";

const api = await startCatalogueApi(); // a local music catalogue API (artists, albums, tracks)

// GET /v1/tracks/{id}, keyed by its id alone: the catalogue's ids are unique, /v1/tracks/{id}
// takes no query, and this cache holds this one API. JSON payloads are named by their "name".
const tracks = defineSettings<Track>({
  name: "tracks",
  fields: ["id"],
  getKey: ({ url }) => [url.search === "" ? url.pathname.split("/")[3] : null],
  getName: (track) => track.name,
  payloadHandler: new JSONPayloadHandler<Track>(),
});

// One SQLite file; a request goes to the repository named like the path segment after /v1.
const cache = SQLiteCache.connectWithPath(".cache/api", { repositoryGetter: repositoryByPathSegment(1) });
cache.createRepository(tracks, { expire: { days: 1 } });

await using session = new CachedSession({ cache });
const url = `${api.url}/v1/tracks/${catalogue.tracks[0]?.id}`;
const first = await session.fetch(url); // the network: it resolves at the head, as fetch does
await first.json(); // the body is stored by the time it has been read
const again = await session.fetch(url); // the cache
console.log(first instanceof CachedResponse, again instanceof CachedResponse); // false true
console.log(again.status, again.headers.get("content-type"), again.url === url); // the origin's
console.log(((await again.json()) as Track).name, `(${api.requests} request reached the API)`);

await api.close();
