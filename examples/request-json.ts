/** README.md, "JSON payloads": the JSON payload handler parses each body; its type parameter types it. */
import { JSONPayloadHandler, RequestHandler } from "../src/index.js";
import { type Album, catalogue, startCatalogueApi } from "./catalogue-api.js";

const api = await startCatalogueApi();
const handler = RequestHandler.create({
  payloadHandler: new JSONPayloadHandler<Album>(),
  headers: { accept: "application/json" },
});

const album = await handler.get(`${api.url}/v1/albums/${catalogue.albums[0]?.id}`);
console.log(`${album.name} by ${album.artists.map((artist) => artist.name).join(" & ")}`);
for (const track of album.tracks.items) console.log(`  ${track.track_number}. ${track.name}`);

await handler.close();
await api.close();
