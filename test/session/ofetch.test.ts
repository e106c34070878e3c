import { FetchError, ofetch } from "ofetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedSession, MemoryCache, repositoryByPathSegment } from "../../src/index.js";
import { json, startServer, type TestServer } from "../helpers/http-server.js";
import { addRepositories } from "../helpers/session.js";

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.close();
});

describe("session.fetch as the fetch of a client from npm (ofetch)", () => {
  it("serves ofetch's repeated requests from the cache", async () => {
    const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
    addRepositories(cache);
    await using session = new CachedSession({ cache, logger: null });
    // It has the type of global fetch, as well as its behaviour.
    const asFetch: typeof fetch = session.fetch;
    const api = ofetch.create({ baseURL: `${server.origin}/v1` }, { fetch: asFetch });

    const first = await api<{ path: string; hit: number }>("/tracks/of1", { query: { market: "SE" } });
    const second = await api<{ path: string; hit: number }>("/tracks/of1", { query: { market: "SE" } });
    expect(first).toEqual({ path: "/v1/tracks/of1?market=SE", hit: 1 });
    expect(second).toEqual(first);
    expect(server.count("/v1/tracks/of1?market=SE")).toBe(1);

    const raw = await api.raw("/tracks/of1", { query: { market: "SE" } });
    expect(raw.status).toBe(200);
    expect(raw._data).toEqual(first);
    expect(raw.headers.get("content-type")).toBe("application/json");
    expect(session.stats().total).toMatchObject({ requests: 3, hits: 2, misses: 1, network: 1 });
  });

  it("lets ofetch see error statuses, which are not stored", async () => {
    const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
    addRepositories(cache);
    await using session = new CachedSession({ cache, logger: null });
    const api = ofetch.create({ baseURL: `${server.origin}/v1`, retry: 0 }, { fetch: session.fetch });
    server.on("/v1/tracks/of404", (_, response, hit) =>
      json(response, { error: "no such track", hit }, { status: 404 }),
    );
    for (const hit of [1, 2]) {
      const error = await api("/tracks/of404").catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(FetchError);
      expect((error as FetchError).status).toBe(404);
      expect((error as FetchError).data).toEqual({ error: "no such track", hit });
    }
    expect(server.count("/v1/tracks/of404")).toBe(2);
  });
});
