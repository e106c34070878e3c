/** README.md, "Credentials and the cache": what is cached for requests that carry credentials. */
import {
  BearerAuthoriser,
  type CredentialsMode,
  defineSettings,
  MemoryCache,
  RequestHandler,
  repositoryByPathSegment,
} from "../src/index.js";
import { catalogue, startCatalogueApi } from "./catalogue-api.js";

const api = await startCatalogueApi();
const url = `${api.url}/v1/tracks/${catalogue.tracks[0]?.id}`;

/** Fetches the track twice through a handler that sends a bearer token, and says how often the API was asked. */
async function twice(label: string, keyFields: "id" | "id and user", credentials: CredentialsMode = "partition") {
  const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
  cache.createRepository(
    defineSettings({
      name: "tracks",
      fields: keyFields === "id" ? ["id"] : ["id", "user"],
      // The id names the track: the catalogue's ids are unique and /v1/tracks/{id} takes no query.
      getKey: ({ url, headers }) => {
        const id = url.pathname.split("/")[3];
        return keyFields === "id" ? [id] : [id, headers.get("authorization")];
      },
    }),
  );
  const authoriser = new BearerAuthoriser({ token: "alice-token" });
  await using handler = RequestHandler.create({ cache, authoriser, credentials });
  const before = api.requests;
  await handler.get(url);
  await handler.get(url);
  console.log(`${label}: ${api.requests - before} of 2 requests reached the API`);
}

await twice("keyed by id (the default: not cached)", "id");
await twice('keyed by id, with credentials: "share"', "id", "share");
await twice("keyed by id and Authorization", "id and user");

await api.close();
