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

/** The user a token stands for: a key holds this, never the token itself. */
const userOf = (authorization: string | null) => (authorization === "Bearer alice-token" ? "alice" : null);

/** Fetches the track twice through a handler that sends a bearer token, and says how often the API was asked. */
async function twice(
  label: string,
  key: "id" | "id and user",
  options: { credentials?: CredentialsMode; public?: boolean } = {},
) {
  const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
  cache.createRepository(
    defineSettings({
      name: "tracks",
      fields: key === "id" ? ["id"] : ["id", "user"],
      // The id names the track: the catalogue's ids are unique and /v1/tracks/{id} takes no query.
      getKey: ({ url, headers }) => {
        const id = url.pathname.split("/")[3];
        return key === "id" ? [id] : [id, userOf(headers.get("authorization"))];
      },
      public: options.public ?? false,
    }),
  );
  const authoriser = new BearerAuthoriser({ token: "alice-token" });
  await using handler = RequestHandler.create({ cache, authoriser, credentials: options.credentials ?? "partition" });
  const before = api.requests;
  await handler.get(url);
  await handler.get(url);
  console.log(`${label}: ${api.requests - before} of 2 requests reached the API`);
}

await twice("keyed by id (the default: not cached)", "id");
await twice("keyed by id, settings public: true", "id", { public: true });
await twice('keyed by id, with credentials: "share"', "id", { credentials: "share" });
await twice("keyed by id and the token's user", "id and user");

await api.close();
