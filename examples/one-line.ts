/** README.md, "A cache in one line": a session with no argument caches every GET by its whole URL. */
import { CachedSession } from "../src/index.js";
import { catalogue, startCatalogueApi } from "./catalogue-api.js";

// A local music catalogue API whose answers say they stay fresh for an hour.
const api = await startCatalogueApi({ cacheControl: "max-age=3600" });
const track = `/v1/tracks/${catalogue.tracks[0]?.id}`;

await using session = new CachedSession(); // every GET and HEAD, cached in .cache/requestful.sqlite

/** Fetches a path of the API and says whether the answer came from the network or the cache. */
async function get(label: string, path: string, headers: Record<string, string> = {}) {
  const before = api.requests;
  const response = await session.fetch(`${api.url}${path}`, { headers });
  await response.json();
  console.log(`${api.requests > before ? "network" : "cache  "}  ${label}`);
}

await get("a track", track);
await get("the same track", track);
await get("the same track, #fragment", `${track}#lyrics`);
await get("albums ?offset=0&limit=2", "/v1/albums?offset=0&limit=2");
await get("albums ?limit=2&offset=0", "/v1/albums?limit=2&offset=0"); // the same query
await get("albums ?offset=2&limit=2", "/v1/albums?offset=2&limit=2"); // another one
await get("a track, as alice", track, { authorization: "Bearer alice-token" });
await get("a track, as alice again", track, { authorization: "Bearer alice-token" });
await get("a track, as bob", track, { authorization: "Bearer bob-token" });

await api.close();
