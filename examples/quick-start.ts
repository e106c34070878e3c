/** The README's quick start, as written there (with the package name pointing at the source). */
import { defineSettings, JSONPayloadHandler, repositoryByPathSegment, SQLiteCache } from "../src/index.js";

// GET https://api.example.com/v1/tracks/ID is keyed by its ID alone: the API's track IDs are
// unique, it takes no query there, and this cache holds only this API. (GET and HEAD only, by default.)
const tracks = defineSettings({
  name: "tracks",
  fields: ["id"],
  getKey: ({ url }) => [url.search === "" ? url.pathname.split("/")[3] : null],
  getName: (payload: { name?: string }) => payload.name,
  payloadHandler: new JSONPayloadHandler<{ name?: string }>(),
});

await using cache = SQLiteCache.connectWithPath(".cache/quick-start", {
  repositoryGetter: repositoryByPathSegment(1), // /v1/tracks/… → the "tracks" repository
  expire: { weeks: 2 },
});
const repository = cache.createRepository(tracks);
await cache.connect(); // opens .cache/quick-start.sqlite and creates the table

const request = new Request("https://api.example.com/v1/tracks/6fWoFduMpBem73DMLCOh1Z");
await cache.saveResponse({ request, response: Response.json({ name: "super cool song" }) });

console.log(await cache.getResponse(request)); // { name: 'super cool song' }
console.log(await repository.count()); // 1
