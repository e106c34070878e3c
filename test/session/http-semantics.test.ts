import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CachedResponse,
  CachedSession,
  type CachedSessionOptions,
  type CacheOptions,
  type CachePolicy,
  type CreateRepositoryOptions,
  JSONPayloadHandler,
  MemoryCache,
  type SessionEvent,
  StringPayloadHandler,
} from "../../src/index.js";
import { json, send, startServer, type TestServer } from "../helpers/http-server.js";
import { backends, byId, fakeClock } from "../helpers/session.js";

let server: TestServer;
const { list, cleanup } = backends();
let counter = 0;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
  cleanup();
});

/** A path of its own for each test. */
function fresh(): string {
  return server.url(`/v1/tracks/${Date.now()}-${counter++}`);
}
const pathOf = (url: string) => new URL(url).pathname;

describe.each(list)("HTTP caching on $name", (backend) => {
  const sessions: CachedSession[] = [];
  afterEach(async () => {
    for (const session of sessions.splice(0)) await session.close();
  });

  async function open(
    options: {
      policy?: CachePolicy;
      repository?: CreateRepositoryOptions;
      cache?: CacheOptions;
      session?: Omit<CachedSessionOptions, "cache">;
    } = {},
  ) {
    const { clock, now } = fakeClock();
    const events: SessionEvent[] = [];
    const errors: unknown[] = [];
    const cache = backend.make({ now, ...options.cache });
    cache.createRepository(byId("tracks", new JSONPayloadHandler()), {
      policy: options.policy ?? "http",
      ...options.repository,
    });
    cache.createRepository(byId("pages", new StringPayloadHandler()), { policy: options.policy ?? "http" });
    await cache.connect();
    const session = new CachedSession({
      cache,
      logger: null,
      onEvent: (event) => events.push(event),
      onError: (error) => errors.push(error),
      ...options.session,
    });
    sessions.push(session);
    return { session, clock, events, errors };
  }

  it("stores a gzip response decoded, with headers that match the stored body", async () => {
    const { session } = await open({ policy: "expire" });
    const url = fresh();
    const body = JSON.stringify({ text: "compressible ".repeat(100) });
    const encoded = gzipSync(body);
    server.on(pathOf(url), (_, response) =>
      send(response, encoded, { headers: { "content-type": "application/json", "content-encoding": "gzip" } }),
    );
    const miss = await session.fetch(url);
    expect(await miss.text()).toBe(body);
    const hit = await session.fetch(url);
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(hit.headers.get("content-encoding")).toBeNull();
    expect(hit.headers.get("content-length")).toBe(String(Buffer.byteLength(body)));
    expect(await hit.text()).toBe(body);
    // What a client decoding by the headers would do: nothing to decode, and the length matches.
    expect(encoded.byteLength).toBeLessThan(Buffer.byteLength(body));
  });

  it("serves while max-age lasts, then validates with If-None-Match and freshens the entry with the 304", async () => {
    const { session, clock, events } = await open();
    const url = fresh();
    server.on(pathOf(url), (request, response, hit) => {
      if (request.headers["if-none-match"] === '"v1"') {
        response.writeHead(304, { etag: '"v1"', "cache-control": "max-age=60", "x-refreshed": String(hit) }).end();
        return;
      }
      json(response, { hit }, { headers: { etag: '"v1"', "cache-control": "max-age=60" } });
    });
    await (await session.fetch(url)).json();
    clock.advance(30_000);
    const hit = (await session.fetch(url)) as CachedResponse;
    expect(hit.age).toBe(30);
    expect(hit.headers.get("age")).toBe("30");
    expect(hit.cacheStatus).toBe("requestful; hit; ttl=30");
    expect(await hit.json()).toEqual({ hit: 1 });
    clock.advance(31_000);
    const revalidated = (await session.fetch(url)) as CachedResponse;
    expect(revalidated).toBeInstanceOf(CachedResponse);
    expect(revalidated.status).toBe(200);
    expect(revalidated.cacheStatus).toMatch(/^requestful; fwd=stale; fwd-status=304/);
    expect(revalidated.headers.get("x-refreshed")).toBe("2");
    expect(await revalidated.json()).toEqual({ hit: 1 });
    expect(server.arrivals.filter((a) => a.path === pathOf(url)).map((a) => a.headers["if-none-match"])).toEqual([
      undefined,
      '"v1"',
    ]);
    // The refreshed entry is fresh again, with the 304's fields stored.
    const again = (await session.fetch(url)) as CachedResponse;
    expect(again.headers.get("x-refreshed")).toBe("2");
    expect(server.count(pathOf(url))).toBe(2);
    expect(events.filter((e) => e.type === "hit").map((e) => (e.type === "hit" ? e.status : ""))).toEqual([
      "hit",
      "revalidated",
      "hit",
    ]);
  });

  it("revalidates on fetch's no-cache mode and on a request's Cache-Control: max-age=0", async () => {
    const { session, clock } = await open();
    const url = fresh();
    server.on(pathOf(url), (request, response, hit) => {
      if (request.headers["if-none-match"] === '"v1"') return void response.writeHead(304, { etag: '"v1"' }).end();
      json(response, { hit }, { headers: { etag: '"v1"', "cache-control": "max-age=600" } });
    });
    await (await session.fetch(url)).arrayBuffer();
    clock.advance(1_000); // max-age=0 refuses a response older than 0 seconds
    const noCache = await session.fetch(url, { cache: "no-cache" });
    expect((noCache as CachedResponse).cacheStatus).toMatch(/fwd-status=304/);
    clock.advance(1_000);
    const maxAge = await session.fetch(url, { headers: { "cache-control": "max-age=0" } });
    expect((maxAge as CachedResponse).cacheStatus).toMatch(/fwd-status=304/);
    expect(await maxAge.json()).toEqual({ hit: 1 });
    expect(server.count(pathOf(url))).toBe(3);
  });

  it("honours no-store in both policies, unless an expire repository ignores it", async () => {
    for (const [policy, ignoreNoStore, stored] of [
      ["http", false, false],
      ["expire", false, false],
      ["expire", true, true],
    ] as const) {
      const { session, events } = await open({ policy, repository: { ignoreNoStore } });
      const url = fresh();
      server.on(pathOf(url), (_, response, hit) =>
        json(response, { hit }, { headers: { "cache-control": "no-store" } }),
      );
      await (await session.fetch(url)).arrayBuffer();
      const second = await session.fetch(url);
      expect(second instanceof CachedResponse).toBe(stored);
      if (!stored) expect(events).toContainEqual(expect.objectContaining({ type: "not-stored", reason: "no-store" }));
    }
  });

  it("keeps an expire repository's data for its expiry whatever max-age says, and stores the statuses it lists", async () => {
    const { session, clock } = await open({ policy: "expire", repository: { statuses: [200, 404] } });
    const url = fresh();
    server.on(pathOf(url), (_, response, hit) =>
      json(response, { hit }, { headers: { "cache-control": "private, max-age=0" } }),
    );
    await (await session.fetch(url)).arrayBuffer();
    clock.advance(3_600_000);
    expect(await (await session.fetch(url)).json()).toEqual({ hit: 1 });
    const missing = fresh();
    server.on(pathOf(missing), (_, response) => json(response, {}, { status: 404 }));
    await (await session.fetch(missing)).arrayBuffer();
    const again = await session.fetch(missing);
    expect(again).toBeInstanceOf(CachedResponse);
    expect(again.status).toBe(404);
  });

  it("validates expired entries of an expire repository with their ETags, found in one read each, alone and at once", async () => {
    const { session, clock } = await open({
      policy: "expire",
      repository: { expire: 1_000 },
      session: { singleFlight: "process" },
    });
    const urls = [fresh(), fresh(), fresh(), fresh()];
    for (const url of urls) {
      server.on(pathOf(url), (request, response, hit) => {
        if (request.headers["if-none-match"] === '"v1"') return void response.writeHead(304, { etag: '"v1"' }).end();
        json(response, { hit }, { headers: { etag: '"v1"' } });
      });
      await (await session.fetch(url)).arrayBuffer();
    }
    clock.advance(5_000);
    const repository = session.cache.get("tracks");
    if (repository === undefined) throw new Error("no tracks repository");
    const reads: unknown[] = [];
    const getEntry = repository.getEntry.bind(repository);
    repository.getEntry = (request, options) => {
      reads.push(options);
      return getEntry(request, options);
    };
    const getEntries = repository.getEntries.bind(repository);
    repository.getEntries = (requests, options) => {
      reads.push(options);
      return getEntries(requests, options);
    };
    // Alone: one read finds the expired entry, which is validated (a 304) rather than fetched whole.
    const alone = await session.fetch(urls[0] as string);
    expect(alone).toBeInstanceOf(CachedResponse);
    expect(await alone.json()).toEqual({ hit: 1 });
    expect(reads).toHaveLength(1);
    // At once: the reads that wait for the first go together in one bulk read, which finds the
    // expired entries too.
    const together = await Promise.all(urls.slice(1).map((url) => session.fetch(url)));
    expect(reads).toEqual([{ includeExpired: true }, { includeExpired: true }, { includeExpired: true }]);
    for (const response of together) {
      expect(response).toBeInstanceOf(CachedResponse);
      expect(await response.json()).toEqual({ hit: 1 });
    }
    for (const url of urls) expect(server.count(pathOf(url))).toBe(2); // stored, then validated
  });

  it("never answers a request whose Vary fields differ, and stores the new variant", async () => {
    const { session, events } = await open();
    const url = fresh();
    server.on(pathOf(url), (request, response) =>
      json(
        response,
        { language: request.headers["accept-language"] },
        { headers: { vary: "Accept-Language", "cache-control": "max-age=600" } },
      ),
    );
    const get = (language: string) => session.fetch(url, { headers: { "accept-language": language } });
    await (await get("fr")).arrayBuffer();
    expect(await (await get("fr")).json()).toEqual({ language: "fr" });
    const english = await get("en");
    expect(english).not.toBeInstanceOf(CachedResponse);
    expect(await english.json()).toEqual({ language: "en" });
    expect(events).toContainEqual(expect.objectContaining({ type: "miss", reason: "vary" }));
    expect(await (await get("en")).json()).toEqual({ language: "en" });
    expect(server.count(pathOf(url))).toBe(2);
  });

  it("fetches a stale response that has no validator again, in every singleFlight mode", async () => {
    for (const singleFlight of ["store", "process"] as const) {
      const { session, clock } = await open({ session: { singleFlight } });
      const url = fresh();
      server.on(pathOf(url), (_, response, hit) =>
        json(response, { hit }, { headers: { "cache-control": "max-age=1" } }),
      );
      expect(await (await session.fetch(url)).json()).toEqual({ hit: 1 });
      expect(await (await session.fetch(url)).json()).toEqual({ hit: 1 });
      clock.advance(5_000);
      const again = await session.fetch(url);
      expect(again).not.toBeInstanceOf(CachedResponse);
      expect(await again.json()).toEqual({ hit: 2 });
      expect(server.count(pathOf(url))).toBe(2);
    }
  });

  it("never stores Vary: * responses", async () => {
    const { session } = await open();
    const url = fresh();
    server.on(pathOf(url), (_, response, hit) =>
      json(response, { hit }, { headers: { vary: "*", "cache-control": "max-age=60" } }),
    );
    await (await session.fetch(url)).arrayBuffer();
    expect(await (await session.fetch(url)).json()).toEqual({ hit: 2 });
  });

  it("removes the stored response after a successful unsafe request, and keeps it after a failed one", async () => {
    const { session } = await open();
    const url = fresh();
    server.on(pathOf(url), (request, response, hit) => {
      if (request.method === "DELETE") return json(response, {}, { status: hit === 2 ? 500 : 200 });
      json(response, { hit }, { headers: { "cache-control": "max-age=600" } });
    });
    await (await session.fetch(url)).arrayBuffer();
    await (await session.fetch(url, { method: "DELETE" })).arrayBuffer(); // 500: kept
    expect(await session.fetch(url)).toBeInstanceOf(CachedResponse);
    await (await session.fetch(url, { method: "DELETE" })).arrayBuffer(); // 200: removed
    const after = await session.fetch(url);
    expect(after).not.toBeInstanceOf(CachedResponse);
    expect(await after.json()).toEqual({ hit: 4 });
  });

  it("answers at once within stale-while-revalidate and refreshes the entry with one background request", async () => {
    const { session, clock, events, errors } = await open();
    const url = fresh();
    server.on(pathOf(url), (_, response, hit) =>
      json(response, { hit }, { headers: { "cache-control": "max-age=10, stale-while-revalidate=100" } }),
    );
    await (await session.fetch(url)).arrayBuffer();
    clock.advance(20_000);
    const stored = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (events.filter((event) => event.type === "store").length === 2) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    const [a, b] = await Promise.all([session.fetch(url), session.fetch(url)]);
    for (const response of [a, b]) {
      expect((response as CachedResponse).stale).toBe(true);
      expect((response as CachedResponse).cacheStatus).toMatch(/detail=stale-while-revalidate/);
      expect(await response.json()).toEqual({ hit: 1 });
    }
    await stored;
    expect(server.count(pathOf(url))).toBe(2);
    expect(await (await session.fetch(url)).json()).toEqual({ hit: 2 });
    expect(errors).toEqual([]);
  });

  it("reports a failed background revalidation to onError, never as an unhandled rejection", async () => {
    const failing = () => Promise.reject(new TypeError("fetch failed"));
    const { session, clock, errors } = await open();
    const url = fresh();
    server.on(pathOf(url), (_, response) =>
      json(response, {}, { headers: { "cache-control": "max-age=10, stale-while-revalidate=100" } }),
    );
    await (await session.fetch(url)).arrayBuffer();
    const offline = new CachedSession({
      cache: session.cache,
      logger: null,
      fetch: failing,
      onError: (e) => errors.push(e),
    });
    clock.advance(20_000);
    expect(await offline.fetch(url)).toBeInstanceOf(CachedResponse);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/fetch failed/);
  });

  it("answers with the stale response when the origin fails within stale-if-error", async () => {
    const { session, clock, events } = await open();
    const url = fresh();
    server.on(pathOf(url), (_, response, hit) =>
      hit === 1
        ? json(response, { hit }, { headers: { "cache-control": "max-age=10, stale-if-error=600" } })
        : json(response, { error: true }, { status: 503 }),
    );
    await (await session.fetch(url)).arrayBuffer();
    clock.advance(60_000);
    const answer = (await session.fetch(url)) as CachedResponse;
    expect(answer).toBeInstanceOf(CachedResponse);
    expect(answer.stale).toBe(true);
    expect(answer.cacheStatus).toMatch(/detail=stale-if-error/);
    expect(await answer.json()).toEqual({ hit: 1 });
    expect(events).toContainEqual(expect.objectContaining({ type: "hit", status: "stale", reason: "stale-if-error" }));
  });

  it("as a shared cache, does not store private responses and prefers s-maxage", async () => {
    const { session, clock } = await open({ session: { shared: true } });
    const privateUrl = fresh();
    server.on(pathOf(privateUrl), (_, response, hit) =>
      json(response, { hit }, { headers: { "cache-control": "private, max-age=600" } }),
    );
    await (await session.fetch(privateUrl)).arrayBuffer();
    expect(await session.fetch(privateUrl)).not.toBeInstanceOf(CachedResponse);
    const url = fresh();
    server.on(pathOf(url), (_, response, hit) =>
      json(response, { hit }, { headers: { "cache-control": "max-age=1, s-maxage=600" } }),
    );
    await (await session.fetch(url)).arrayBuffer();
    clock.advance(60_000);
    expect(await session.fetch(url)).toBeInstanceOf(CachedResponse);
  });

  it("keeps an http entry for the later of its freshness and the repository's expire", async () => {
    const { session } = await open({ repository: { expire: 1_000 } });
    const url = fresh();
    server.on(pathOf(url), (_, response, hit) =>
      json(response, { hit }, { headers: { "cache-control": "max-age=600" } }),
    );
    await (await session.fetch(url)).arrayBuffer();
    const hit = (await session.fetch(url)) as CachedResponse;
    expect(hit.expiresAt.getTime() - hit.cachedAt.getTime()).toBe(600_000);
  });
});

describe("HTTP caching options", () => {
  it("checks the policy options of caches, repositories and sessions, naming the option", () => {
    expect(() => new MemoryCache({ policy: "rfc" as never })).toThrow(/policy must be "http" or "expire"/);
    const cache = new MemoryCache();
    const settings = byId("tracks", new JSONPayloadHandler());
    expect(() => cache.createRepository(settings, { policy: "never" as never })).toThrow(TypeError);
    expect(() => cache.createRepository(settings, { statuses: [99] })).toThrow(
      /statuses must hold final HTTP statuses/,
    );
    expect(() => cache.createRepository(settings, { ignoreNoStore: "yes" as never })).toThrow(/ignoreNoStore/);
    expect(cache.createRepository(settings).policy).toBe("expire");
    expect(new MemoryCache({ policy: "http" }).createRepository(settings).policy).toBe("http");
    expect(() => new CachedSession({ cache, shared: "yes" as never })).toThrow(/shared must be true or false/);
    expect(() => new CachedSession({ cache, staleIfError: -1 })).toThrow(RangeError);
  });
});
