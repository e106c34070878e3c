/** README.md, "Retries and rate limits": backoff on 5xx, waits on 429, and errors that say what went wrong. */
import {
  type FetchFunction,
  GeometricCountTimer,
  JSONPayloadHandler,
  RequestHandler,
  ResponseError,
  StepCeilingTimer,
} from "../src/index.js";
import { catalogue, startCatalogueApi } from "./catalogue-api.js";

const api = await startCatalogueApi();

// The demo API never fails, so this fetch plays a busy gateway in front of it: it answers the first
// two requests it sees with 503 and the third with 429 and Retry-After: 1, and lets the rest through.
let seen = 0;
const busy: FetchFunction = async (input, init) => {
  seen++;
  if (seen <= 2) return new Response("busy", { status: 503 });
  if (seen === 3) return new Response("slow down", { status: 429, headers: { "retry-after": "1" } });
  return fetch(input, init);
};

const handler = RequestHandler.create({
  fetch: busy,
  payloadHandler: new JSONPayloadHandler(),
  // 5xx answers and network errors: up to 3 retries, after 200, 400 and 800 ms.
  retryTimer: new GeometricCountTimer({ initial: 200, count: 3, factor: 2 }),
  // Each 429 answer slows the pace of requests by 50 ms; a 429 may ask for a wait of 5 s at most.
  waitTimer: new StepCeilingTimer({ initial: 0, step: 50, final: 5_000 }),
  concurrency: 4,
});

const ids = catalogue.tracks.slice(0, 8).map((track) => track.id);
const tracks = await Promise.all(ids.map((id) => handler.get(`${api.url}/v1/tracks/${id}`)));
console.log(`${tracks.length} tracks in ${seen} attempts; ${api.requests} reached the API`);

try {
  await handler.get(`${api.url}/v1/tracks/no-such-track`);
} catch (error) {
  if (!(error instanceof ResponseError)) throw error;
  console.log(`${error.name} ${error.status}: ${error.body}`);
}

await handler.close();
await api.close();
