/** README.md, "A plain GET": the request handler with its defaults returns the body as text. */
import { RequestHandler } from "../src/index.js";
import { catalogue, startCatalogueApi } from "./catalogue-api.js";

const api = await startCatalogueApi();
const handler = RequestHandler.create();

const text = await handler.get(`${api.url}/v1/artists/${catalogue.artists[0]?.id}`);
console.log(typeof text); // the default payload handler gives text
console.log(text);

await handler.close();
await api.close();
