/**
 * A request handler answers from its cache exactly what a session on the same cache would: hits
 * that the HTTP rules call fresh, for the variant that was asked for, with the status that was
 * stored, and nothing for a request whose own Cache-Control asks for the origin.
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type CachePolicy,
  defineSettings,
  JSONPayloadHandler,
  MemoryCache,
  RequestHandler,
  type ResponseCache,
  ResponseError,
  repositoryByPathSegment,
  SQLiteCache,
} from "../../src/index.js";
import { json, startServer, type TestServer } from "../helpers/http-server.js";
import { byId, fakeClock } from "../helpers/session.js";
import { tempFolder } from "../helpers/temp.js";

let server: TestServer;
const folder = tempFolder("requestful-request-semantics-");
let counter = 0;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
  folder.remove();
});

const backends: [string, (now: () => number) => ResponseCache][] = [
  ["memory", (now) => new MemoryCache({ now, repositoryGetter: repositoryByPathSegment(0) })],
  [
    "sqlite",
    (now) =>
      SQLiteCache.connectWithPath(join(folder.path, `c${counter++}`), {
        now,
        repositoryGetter: repositoryByPathSegment(0),
      }),
  ],
];

describe.each(backends)("a request handler's cache reads on %s", (_, makeCache) => {
  const handlers: RequestHandler<unknown>[] = [];
  afterEach(async () => {
    for (const handler of handlers.splice(0)) await handler.close();
  });

  function setUp(policy: CachePolicy, statuses?: number[]) {
    const { clock, now } = fakeClock();
    const cache = makeCache(now);
    cache.createRepository(
      defineSettings({
        name: "items",
        fields: ["id"],
        getKey: ({ url }) => [url.pathname.split("/")[2] ?? null],
        payloadHandler: new JSONPayloadHandler(),
      }),
      { policy, ...(statuses === undefined ? {} : { statuses }) },
    );
    const handler = RequestHandler.create({ cache, payloadHandler: new JSONPayloadHandler() });
    handlers.push(handler);
    const path = `/items/${Date.now()}-${counter++}`;
    return { clock, handler, path, url: server.url(path) };
  }

  it("fetches again once the HTTP freshness of an http-policy entry is over", async () => {
    const { clock, handler, path, url } = setUp("http");
    server.on(path, (_, response, hit) => json(response, { hit }, { headers: { "cache-control": "max-age=1" } }));
    expect(await handler.get(url)).toEqual({ hit: 1 });
    expect(await handler.get(url)).toEqual({ hit: 1 });
    clock.advance(5_000);
    expect(await handler.get(url)).toEqual({ hit: 2 });
    expect(server.count(path)).toBe(2);
  });

  it("never answers with another variant (Vary), with headers or without", async () => {
    for (const policy of ["http", "expire"] as const) {
      const { handler, path, url } = setUp(policy);
      server.on(path, (request, response) =>
        json(
          response,
          { language: request.headers["accept-language"] ?? null },
          { headers: { vary: "Accept-Language", "cache-control": "max-age=600" } },
        ),
      );
      const get = (language: string) => handler.get(url, { headers: { "accept-language": language } });
      expect(await get("fr")).toEqual({ language: "fr" });
      expect(await get("fr")).toEqual({ language: "fr" });
      expect(server.count(path)).toBe(1);
      expect(await get("en")).toEqual({ language: "en" });
      // Without the header (fetch may send a default of its own): never the stored French variant.
      expect(((await handler.get(url)) as unknown as { language: string | null }).language).not.toBe("fr");
      expect(server.count(path)).toBe(3);
    }
  });

  it("leaves a request whose Cache-Control asks for the origin to the origin", async () => {
    for (const policy of ["http", "expire"] as const) {
      const { handler, path, url } = setUp(policy);
      server.on(path, (_, response, hit) =>
        json(response, { hit }, { headers: { "cache-control": "max-age=600", etag: `"${hit}"` } }),
      );
      expect(await handler.get(url)).toEqual({ hit: 1 });
      expect(await handler.get(url)).toEqual({ hit: 1 });
      expect(await handler.get(url, { headers: { "cache-control": "no-cache" } })).toEqual({ hit: 2 });
      expect(server.count(path)).toBe(2);
    }
  });

  it("answers a stored error status as that status, not as a payload", async () => {
    const { handler, path, url } = setUp("expire", [200, 404]);
    server.on(path, (_, response) => json(response, { missing: true }, { status: 404 }));
    await expect(handler.get(url)).rejects.toBeInstanceOf(ResponseError);
    await expect(handler.get(url)).rejects.toBeInstanceOf(ResponseError);
    expect(server.count(path)).toBe(1);
  });

  it("sends a request that the cache does not answer once, even when it fails", async () => {
    const { now } = fakeClock();
    const cache = makeCache(now);
    cache.createRepository(
      defineSettings({ name: "items", fields: ["id"], getKey: ({ url }) => [url.pathname.split("/")[2] ?? null] }),
    );
    let calls = 0;
    const handler = RequestHandler.create({
      cache,
      fetch: async () => {
        calls++;
        return new Response("gone", { status: 404 });
      },
    });
    handlers.push(handler as RequestHandler<unknown>);
    await expect(handler.get("https://api.example.com/items/1")).rejects.toBeInstanceOf(ResponseError);
    expect(calls).toBe(1);
  });
});

describe("a request handler's cache reads when the cache routes URLs anew", () => {
  it("reads from the repository the cache's current repositoryGetter picks, not one remembered from before", async () => {
    const cache = new MemoryCache();
    const tracks = cache.createRepository(byId("tracks", new JSONPayloadHandler()));
    const albums = cache.createRepository(byId("albums", new JSONPayloadHandler()));
    cache.repositoryGetter = () => tracks;
    const handler = RequestHandler.create({ cache, payloadHandler: new JSONPayloadHandler() });
    await handler.connect();
    await tracks.saveResponse([["GET", "1"], { from: "tracks" }]);
    await albums.saveResponse([["GET", "1"], { from: "albums" }]);
    const url = server.url("/v1/things/1");
    expect(await handler.get(url)).toEqual({ from: "tracks" });
    expect(await handler.get(url)).toEqual({ from: "tracks" }); // the route is remembered now

    cache.repositoryGetter = () => albums;
    expect(await handler.get(url)).toEqual({ from: "albums" });
    expect(server.count("/v1/things/1")).toBe(0);
    await handler.close();
  });

  it("refuses a repositoryGetter that is not a function, with what it got", () => {
    const cache = new MemoryCache();
    expect(() => {
      cache.repositoryGetter = "tracks" as never;
    }).toThrow(/repositoryGetter must be a function, got a string/);
    cache.repositoryGetter = undefined;
    expect(cache.repositoryGetter).toBeUndefined();
  });
});
