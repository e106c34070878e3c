/**
 * A session remembers where plain GETs of URL strings were routed, and follows the cache when it
 * routes anew: a repository created, the repositoryGetter replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse, CachedSession, JSONPayloadHandler, MemoryCache } from "../../src/index.js";
import { json, startServer, type TestServer } from "../helpers/http-server.js";
import { byId } from "../helpers/session.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  server.on("/v1/things/1", (_request, response) => json(response, { from: "origin" }));
});
afterAll(() => server.close());

const keyed = (name: string) => byId(name, new JSONPayloadHandler());

describe("a session's remembered routes", () => {
  it("follow a replaced repositoryGetter: the repository it picks now answers", async () => {
    const cache = new MemoryCache();
    const tracks = cache.createRepository(keyed("tracks"));
    const albums = cache.createRepository(keyed("albums"));
    cache.repositoryGetter = () => tracks;
    const session = new CachedSession({ cache });
    await cache.connect();
    await tracks.saveResponse([["GET", "1"], { from: "tracks" }]);
    await albums.saveResponse([["GET", "1"], { from: "albums" }]);
    const url = server.url("/v1/things/1");
    for (let i = 0; i < 2; i++) {
      const hit = await session.fetch(url);
      expect(hit).toBeInstanceOf(CachedResponse);
      expect(await hit.json()).toEqual({ from: "tracks" });
    }
    cache.repositoryGetter = () => albums;
    expect(await (await session.fetch(url)).json()).toEqual({ from: "albums" });
    cache.repositoryGetter = undefined; // the default HTTP repository: nothing stored there yet
    expect(await (await session.fetch(url)).json()).toEqual({ from: "origin" });
    expect(server.count("/v1/things/1")).toBe(1);
    expect(session.stats().repositories).toMatchObject({ tracks: { hits: 2 }, albums: { hits: 1 } });
    await session.close();
  });

  it("count every request in its repository's counters, after a reset too", async () => {
    const cache = new MemoryCache();
    const tracks = cache.createRepository(keyed("tracks"));
    cache.repositoryGetter = () => tracks;
    const session = new CachedSession({ cache });
    await cache.connect();
    await tracks.saveResponse([["GET", "1"], { from: "tracks" }]);
    const url = server.url("/v1/things/1");
    for (let i = 0; i < 3; i++) await (await session.fetch(url)).json();
    expect(session.stats().repositories.tracks).toMatchObject({ requests: 3, hits: 3 });
    session.resetStats();
    await (await session.fetch(url)).json();
    expect(session.stats().repositories.tracks).toMatchObject({ requests: 1, hits: 1 });
    await session.close();
  });
});
