/** docs/session.md, "With an HTTP client": session.fetch handed to ofetch. */
import { ofetch } from "ofetch";
import { CachedSession } from "../src/index.js";
import { type Artist, catalogue, startCatalogueApi } from "./catalogue-api.js";

const catalogueApi = await startCatalogueApi({ cacheControl: "max-age=3600" }); // fresh for an hour
await using session = new CachedSession({ cache: "memory:" });

const api = ofetch.create({ baseURL: `${catalogueApi.url}/v1` }, { fetch: session.fetch });
const id = catalogue.artists[0]?.id;
const artist = await api<Artist>(`/artists/${id}`); // the network; stored
const again = await api<Artist>(`/artists/${id}`); // cached like any session.fetch
console.log(artist.name, again.name === artist.name, `(${catalogueApi.requests} request reached the API)`);

await catalogueApi.close();
