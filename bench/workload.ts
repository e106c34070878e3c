/**
 * The workload of the session and handler benchmarks: a JSON API in a worker thread (so that its
 * work is not timed) that serves many distinct resources, each with its own `ETag`, as nested JSON
 * objects the size of a real API's answers — not one hot URL.
 *
 * `/v1/tracks/{id}` answers a track of about 1 KB; `/v1/pages/{id}` a page of tracks of about 100 KB.
 */
import { Worker } from "node:worker_threads";
import { defineSettings, JSONPayloadHandler, type JSONValue } from "../src/index.js";

/** Settings of a repository of the workload (`/v1/{name}/{id}`), keyed by the id of a GET. */
export function workloadSettings(name: string) {
  return defineSettings<JSONValue>({
    name,
    fields: ["id"],
    getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[3] : null],
    payloadHandler: new JSONPayloadHandler(),
  });
}

/** Distinct 1 KB resources that the hit benchmarks cycle through. */
export const TRACK_COUNT = 2_000;
/** Distinct 100 KB resources that the hit benchmarks cycle through. */
export const PAGE_COUNT = 200;

/** A track as a music API returns it: nested objects and lists, about 1 KB of JSON. */
export function track(id: string): Record<string, unknown> {
  const artist = (n: number) => ({
    id: `ar${id}${n}`,
    name: `Artist ${n} of ${id}`,
    type: "artist",
    uri: `music:artist:ar${id}${n}`,
    external_urls: { web: `https://music.example.com/artist/ar${id}${n}` },
  });
  return {
    id,
    type: "track",
    name: `Track ${id}`,
    uri: `music:track:${id}`,
    duration_ms: 215_000 + id.length,
    explicit: false,
    popularity: 42,
    track_number: 3,
    disc_number: 1,
    is_local: false,
    external_ids: { isrc: `GB${id.padStart(10, "0")}` },
    external_urls: { web: `https://music.example.com/track/${id}` },
    artists: [artist(1), artist(2)],
    album: {
      id: `al${id}`,
      name: `Album of ${id}`,
      album_type: "album",
      release_date: "2024-05-17",
      release_date_precision: "day",
      total_tracks: 12,
      images: [640, 300, 64].map((size) => ({
        url: `https://images.example.com/al${id}/${size}.jpg`,
        width: size,
        height: size,
      })),
    },
    available_markets: ["GB", "DE", "FR", "US", "JP", "BR", "AU"],
  };
}

/** A page of tracks, about 100 KB of JSON. */
export function page(id: string): Record<string, unknown> {
  const items = Array.from({ length: 95 }, (_, n) => track(`${id}-${n}`));
  return { id, total: 10_000, offset: 0, limit: items.length, next: `/v1/pages/${id}?offset=95`, items };
}

const SERVER_SOURCE = `
const { createServer } = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
let served = 0;
const server = createServer((request, response) => {
  const match = /^\\/v1\\/(tracks|pages|misses|elsewhere)\\/([\\w-]+)$/.exec(request.url);
  if (match === null) { response.writeHead(404).end(); return; }
  const body = workerData[match[1] === "pages" ? "page" : "track"].replaceAll("__ID__", match[2]);
  response.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "public, max-age=86400",
    etag: '"' + match[2] + "-" + (body.length * 2654435761 % 4294967296).toString(16) + '"',
    "last-modified": "Fri, 17 May 2024 10:00:00 GMT",
    "x-request-id": (++served).toString(36),
  });
  response.end(body);
});
server.keepAliveTimeout = 600000;
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
parentPort.on("message", () => server.close(() => process.exit(0)));
`;

export interface Api {
  /** `http://127.0.0.1:port` */
  base: string;
  stop(): Promise<void>;
}

/** Starts the JSON API in a worker thread. */
export async function startApi(): Promise<Api> {
  const worker = new Worker(SERVER_SOURCE, {
    eval: true,
    workerData: { track: JSON.stringify(track("__ID__")), page: JSON.stringify(page("__ID__")) },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      worker.postMessage("stop");
      await new Promise((resolve) => worker.once("exit", resolve));
    },
  };
}
