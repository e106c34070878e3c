import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CachedResponse,
  CachedSession,
  MemoryCache,
  repositoryByPathSegment,
  type SessionEvent,
} from "../../src/index.js";
import { FaultyMemoryCache } from "../helpers/faulty-cache.js";
import { json, send, startServer, type TestServer } from "../helpers/http-server.js";
import { addRepositories, backends, fakeClock, sessionOn } from "../helpers/session.js";

const { list, cleanup } = backends();
let server: TestServer;
const sessions: CachedSession[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterEach(async () => {
  for (const session of sessions.splice(0)) await session.close();
});

afterAll(async () => {
  await server.close();
  cleanup();
});

function track(id: string): string {
  return server.url(`/v1/tracks/${id}`);
}

let unique = 0;
/** A path no other test uses, so that server counts start at zero. */
function fresh(kind = "tracks"): string {
  return server.url(`/v1/${kind}/t${++unique}`);
}

function pathOf(url: string): string {
  return new URL(url).pathname + new URL(url).search;
}

async function bytes(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

describe.each(list)("session on $name", (backend) => {
  async function open(...args: Parameters<typeof sessionOn> extends [unknown, ...infer Rest] ? Rest : never) {
    const session = await sessionOn(backend, ...args);
    sessions.push(session);
    return session;
  }

  it("answers a repeated request from the cache, without reaching the server", async () => {
    const session = await open();
    const url = fresh();
    const first = await session.fetch(url);
    expect(first).not.toBeInstanceOf(CachedResponse);
    expect(await first.json()).toEqual({ path: pathOf(url), hit: 1 });
    for (let i = 0; i < 3; i++) {
      const again = await session.fetch(url);
      expect(again).toBeInstanceOf(CachedResponse);
      expect((again as CachedResponse).fromCache).toBe(true);
      expect(await again.json()).toEqual({ path: pathOf(url), hit: 1 });
    }
    expect(server.count(pathOf(url))).toBe(1);
  });

  it("gives a miss's caller a JSON value of its own: changing it changes nothing stored", async () => {
    const session = await open();
    const url = fresh();
    const value = (await (await session.fetch(url)).json()) as { path: string; hit: number };
    expect(value).toEqual({ path: pathOf(url), hit: 1 });
    value.hit = 99;
    expect(await (await session.fetch(url)).json()).toEqual({ path: pathOf(url), hit: 1 });
  });

  it.each([
    ["tracks", "application/json", JSON.stringify({ name: "Žluťoučký kůň", emoji: "🎵", n: [1, 2, 3] })],
    ["pages", "text/html; charset=utf-8", "<p>naïve café ☕</p>\n"],
    ["files", "application/octet-stream", new Uint8Array([0, 255, 1, 254, 0x80, 0xc3, 0x28, 10])],
  ] as const)("gives a hit and a miss of %s the same bytes, status, headers and URL", async (kind, type, body) => {
    const session = await open();
    const url = fresh(kind);
    server.on(pathOf(url), (_, response) =>
      send(response, body, { status: 203, headers: { "content-type": type, "x-origin": "yes" } }),
    );
    const miss = await session.fetch(url);
    // The miss resolves at the head; its body ends once stored (a request before then would join it).
    const missBytes = await bytes(miss.clone());
    const hit = await session.fetch(url);
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(server.count(pathOf(url))).toBe(1);
    const expected = typeof body === "string" ? new TextEncoder().encode(body) : body;
    expect(missBytes).toEqual(expected);
    expect(await bytes(hit)).toEqual(expected);
    for (const response of [miss, hit]) {
      expect(response.status).toBe(203);
      expect(response.statusText).toBe("Non-Authoritative Information");
      expect(response.ok).toBe(true);
      expect(response.url).toBe(url);
      expect(response.headers.get("content-type")).toBe(type);
      expect(response.headers.get("x-origin")).toBe("yes");
    }
    // A hit says how old it is and how it was made (RFC 9111 §5.1, RFC 9211); the rest is the origin's.
    const own = new Set(["age", "cache-status"]);
    expect([...hit.headers].filter(([name]) => !own.has(name))).toEqual([...miss.headers]);
    expect(hit.headers.get("age")).toMatch(/^\d+$/);
    expect(hit.headers.get("cache-status")).toMatch(/^requestful; hit; ttl=\d+$/);
    expect((hit as CachedResponse).cacheStatus).toBe(hit.headers.get("cache-status"));
  });

  it.each([
    [false, []],
    [true, []],
  ])(
    "stores the origin's headers but those of the connection and Set-Cookie (shared: %s)",
    async (shared, replayed: string[]) => {
      const session = await open({}, { shared });
      const url = fresh();
      server.on(pathOf(url), (_, response) =>
        json(response, { ok: true }, { headers: { "set-cookie": ["a=1", "b=2"], "x-kept": "1" } }),
      );
      const plain = await fetch(url);
      await plain.arrayBuffer();
      expect(plain.headers.get("keep-alive")).not.toBeNull();
      const miss = await session.fetch(url);
      await miss.clone().arrayBuffer();
      const hit = await session.fetch(url);
      expect(hit).toBeInstanceOf(CachedResponse);
      // The caller who made the request gets its cookies; a hit never replays them (a cookie is a
      // credential, never stored); nobody gets the connection's fields.
      expect(miss.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
      expect(hit.headers.getSetCookie()).toEqual(replayed);
      for (const response of [miss, hit]) {
        expect(response.headers.get("x-kept")).toBe("1");
        expect(response.headers.get("keep-alive")).toBeNull();
        expect(response.headers.get("connection")).toBeNull();
      }
    },
  );

  it("keeps the final URL of a redirected response", async () => {
    const session = await open();
    const target = fresh();
    const start = fresh();
    server.on(pathOf(start), (_, response) => {
      response.writeHead(302, { location: target, "content-length": "0" }).end();
    });
    const miss = await session.fetch(start);
    await miss.clone().arrayBuffer();
    expect(miss.url).toBe(target);
    expect(miss.redirected).toBe(true);
    const hit = await session.fetch(start);
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(hit.url).toBe(target);
    expect(await hit.json()).toEqual({ path: pathOf(target), hit: 1 });
  });

  it("serves an entry until it expires, then goes to the network again (fake clock)", async () => {
    const { clock, now } = fakeClock();
    const session = await open({ now, expire: 60_000 });
    const url = fresh();
    const miss = await session.fetch(url);
    await miss.arrayBuffer();
    clock.advance(59_999);
    const hit = (await session.fetch(url)) as CachedResponse;
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(hit.cachedAt.getTime()).toBe(clock.now - 59_999);
    expect(hit.expiresAt.getTime()).toBe(clock.now + 1);
    expect(hit.stale).toBe(false);
    expect(await hit.json()).toMatchObject({ hit: 1 });
    clock.advance(1);
    const after = await session.fetch(url);
    expect(after).not.toBeInstanceOf(CachedResponse);
    expect(await after.json()).toMatchObject({ hit: 2 });
    expect(server.count(pathOf(url))).toBe(2);
    expect(await (await session.fetch(url)).json()).toMatchObject({ hit: 2 });
  });

  describe("fetch's cache modes", () => {
    it("no-store bypasses the cache both ways", async () => {
      const session = await open();
      const url = fresh();
      await (await session.fetch(url)).arrayBuffer(); // stores hit 1
      const bypassed = await session.fetch(url, { cache: "no-store" });
      expect(bypassed).not.toBeInstanceOf(CachedResponse);
      expect(await bypassed.json()).toMatchObject({ hit: 2 });
      // The stored entry was neither read nor replaced.
      expect(await (await session.fetch(url)).json()).toMatchObject({ hit: 1 });
      const other = fresh();
      await (await session.fetch(other, { cache: "no-store" })).arrayBuffer();
      await (await session.fetch(other)).arrayBuffer();
      expect(server.count(pathOf(other))).toBe(2);
    });

    it.each(["reload", "no-cache"] as const)("%s skips the read and stores the new response", async (mode) => {
      const session = await open();
      const url = fresh();
      await (await session.fetch(url)).arrayBuffer();
      const reloaded = await session.fetch(url, { cache: mode });
      expect(reloaded).not.toBeInstanceOf(CachedResponse);
      expect(await reloaded.json()).toMatchObject({ hit: 2 });
      const hit = await session.fetch(url);
      expect(hit).toBeInstanceOf(CachedResponse);
      expect(await hit.json()).toMatchObject({ hit: 2 });
      expect(server.count(pathOf(url))).toBe(2);
    });

    it("force-cache serves an expired entry that is still held, and fetches and stores when there is none", async () => {
      const { clock, now } = fakeClock();
      const session = await open({ now, expire: 1_000 });
      const url = fresh();
      const first = await session.fetch(url, { cache: "force-cache" });
      expect(first).not.toBeInstanceOf(CachedResponse);
      await first.arrayBuffer();
      clock.advance(5_000);
      const stale = (await session.fetch(url, { cache: "force-cache" })) as CachedResponse;
      expect(stale).toBeInstanceOf(CachedResponse);
      expect(stale.stale).toBe(true);
      expect(await stale.json()).toMatchObject({ hit: 1 });
      expect(server.count(pathOf(url))).toBe(1);
      // A default request does not accept the expired entry.
      expect(await (await session.fetch(url)).json()).toMatchObject({ hit: 2 });
    });

    it("only-if-cached answers from the cache, expired or not, and 504 without a network request", async () => {
      const { clock, now } = fakeClock();
      const session = await open({ now, expire: 1_000 });
      const url = fresh();
      const missing = await session.fetch(url, { cache: "only-if-cached" });
      expect(missing.status).toBe(504);
      expect(missing.statusText).toBe("Gateway Timeout");
      expect(missing.url).toBe(url);
      expect(server.count(pathOf(url))).toBe(0);
      await (await session.fetch(url)).arrayBuffer();
      const hit = await session.fetch(url, { cache: "only-if-cached" });
      expect(await hit.json()).toMatchObject({ hit: 1 });
      clock.advance(10_000);
      const stale = (await session.fetch(new Request(url), { cache: "only-if-cached" })) as CachedResponse;
      expect(stale.stale).toBe(true);
      expect(await stale.json()).toMatchObject({ hit: 1 });
      expect(server.count(pathOf(url))).toBe(1);
    });

    it("passes a caller's conditional request through, and answers a Range from a fresh stored response", async () => {
      const session = await open();
      const url = fresh();
      const body = await (await session.fetch(url)).text();
      const conditional = await session.fetch(url, { headers: { "if-none-match": '"1"' } });
      expect(conditional).not.toBeInstanceOf(CachedResponse);
      await conditional.arrayBuffer();
      expect(server.count(pathOf(url))).toBe(2);
      // RFC 9111 §3.4: a part of a stored complete response, as a 206.
      const part = await session.fetch(url, { headers: { range: "bytes=0-3" } });
      expect(part).toBeInstanceOf(CachedResponse);
      expect(part.status).toBe(206);
      expect(part.headers.get("content-range")).toBe(`bytes 0-3/${new TextEncoder().encode(body).byteLength}`);
      expect(await part.text()).toBe(body.slice(0, 4));
      // Several ranges are left to the origin.
      const ranges = await session.fetch(url, { headers: { range: "bytes=0-1,3-4" } });
      expect(ranges).not.toBeInstanceOf(CachedResponse);
      await ranges.arrayBuffer();
      expect(server.count(pathOf(url))).toBe(3);
      expect(await (await session.fetch(url)).json()).toMatchObject({ hit: 1 });
    });
  });

  it("coalesces 100 simultaneous misses into one network request; each caller gets a complete body", async () => {
    const session = await open();
    const url = fresh();
    const big = "y".repeat(200_000);
    server.on(pathOf(url), async (_, response, hit) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      json(response, { hit, big });
    });
    const responses = await Promise.all(Array.from({ length: 100 }, () => session.fetch(url)));
    expect(server.count(pathOf(url))).toBe(1);
    expect(new Set(responses).size).toBe(100);
    const bodies = await Promise.all(responses.map((response) => response.json()));
    for (const body of bodies) expect(body).toEqual({ hit: 1, big });
    expect(session.stats().total).toMatchObject({ requests: 100, misses: 1, coalesced: 99, network: 1, stores: 1 });
  });

  it("coalesces misses of a response it does not store, and stores nothing", async () => {
    const session = await open();
    const url = fresh();
    server.on(pathOf(url), async (_, response, hit) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      json(response, { error: "not found", hit }, { status: 404 });
    });
    const responses = await Promise.all(Array.from({ length: 20 }, () => session.fetch(url)));
    expect(server.count(pathOf(url))).toBe(1);
    for (const response of responses) {
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: "not found", hit: 1 });
    }
    const again = await session.fetch(url);
    expect(await again.json()).toEqual({ error: "not found", hit: 2 });
    expect(session.stats().total.stores).toBe(0);
  });

  it.each([
    [500, "server error"],
    [206, "partial content"],
    [201, "created"],
  ])("stores a %i response only if it is a whole success", async (status, text) => {
    const session = await open();
    const url = fresh();
    server.on(pathOf(url), (_, response, hit) => json(response, { text, hit }, { status }));
    const first = await session.fetch(url);
    expect(first.status).toBe(status);
    expect(await first.json()).toEqual({ text, hit: 1 });
    const second = await session.fetch(url);
    expect(await second.json()).toEqual({ text, hit: status === 201 ? 1 : 2 });
  });

  it("sends requests with no repository or no key straight to the network, untouched (fallback: false)", async () => {
    const session = await open({}, { fallback: false });
    const unrouted = server.url(`/v1/elsewhere/x${++unique}`);
    const unkeyed = server.url(`/v2/tracks/x${++unique}`);
    for (const url of [unrouted, unkeyed]) {
      await (await session.fetch(url)).arrayBuffer();
      await (await session.fetch(url)).arrayBuffer();
      expect(server.count(pathOf(url))).toBe(2);
    }
    const posted = fresh();
    const response = await session.fetch(posted, { method: "POST", body: "payload" });
    expect(await response.json()).toMatchObject({ hit: 1 });
    await (await session.fetch(posted, { method: "POST", body: "payload" })).arrayBuffer();
    expect(server.count(pathOf(posted))).toBe(2);
    expect(server.arrivals.at(-1)?.method).toBe("POST");
    expect(session.stats().total).toMatchObject({ requests: 6, bypassed: 6, network: 6, hits: 0, stores: 0 });
  });

  it("does not cache requests with credentials unless told that keys cover them", async () => {
    const url = fresh();
    const guarded = await open();
    for (const headers of [{ authorization: "Bearer a" }, { cookie: "session=b" }]) {
      await (await guarded.fetch(url, { headers })).arrayBuffer();
    }
    expect(server.count(pathOf(url))).toBe(2);
    expect(await (await guarded.fetch(url)).json()).toMatchObject({ hit: 3 });
    expect(await (await guarded.fetch(url, { headers: { authorization: "Bearer a" } })).json()).toMatchObject({
      hit: 4,
    });

    const trusting = await open({}, { credentials: "share" });
    const other = fresh();
    await (await trusting.fetch(other, { headers: { authorization: "Bearer a" } })).arrayBuffer();
    const hit = await trusting.fetch(other, { headers: { authorization: "Bearer a" } });
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(server.count(pathOf(other))).toBe(1);
  });

  it("reads but stores nothing with persist: false", async () => {
    const cache = backend.make();
    addRepositories(cache);
    await cache.connect();
    const writer = new CachedSession({ cache, logger: null });
    const reader = new CachedSession({ cache, persist: false, logger: null });
    sessions.push(writer);
    const stored = fresh();
    await (await writer.fetch(stored)).arrayBuffer();
    expect(await reader.fetch(stored)).toBeInstanceOf(CachedResponse);
    const notStored = fresh();
    await (await reader.fetch(notStored)).arrayBuffer();
    await (await reader.fetch(notStored)).arrayBuffer();
    expect(server.count(pathOf(notStored))).toBe(2);
    await (await reader.fetch(notStored, { cache: "reload" })).arrayBuffer();
    expect(reader.stats().total.stores).toBe(0);
  });

  it("takes a URL, a Request, and a Request with init, as fetch does", async () => {
    const session = await open();
    const url = fresh();
    await (await session.fetch(new URL(url))).arrayBuffer();
    const fromRequest = await session.fetch(new Request(url, { headers: { accept: "application/json" } }));
    expect(fromRequest).toBeInstanceOf(CachedResponse);
    const withInit = await session.fetch(new Request(url), { headers: { "x-extra": "1" } });
    expect(withInit).toBeInstanceOf(CachedResponse);
    expect(server.count(pathOf(url))).toBe(1);
  });

  it("rejects like fetch when the signal is already aborted, before touching the cache", async () => {
    const session = await open();
    const url = fresh();
    const reason = new Error("stop");
    await expect(session.fetch(url, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(fetch(url, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(session.stats().total.requests).toBe(0);
  });

  it("reaches the network through the fetch it is given", async () => {
    const seen: string[] = [];
    const session = await open(
      {},
      {
        fetch: (input, init) => {
          seen.push(input instanceof Request ? input.url : String(input));
          return fetch(input, { ...init, headers: { "x-via": "custom" } });
        },
      },
    );
    const url = fresh();
    await (await session.fetch(url)).arrayBuffer();
    await (await session.fetch(url)).arrayBuffer();
    await (await session.fetch(server.url("/elsewhere/1"))).arrayBuffer();
    expect(seen).toEqual([url, server.url("/elsewhere/1")]);
    expect(server.arrivals.at(-1)?.headers["x-via"]).toBe("custom");
  });

  it("connects the cache on first use", async () => {
    const cache = backend.make();
    addRepositories(cache);
    expect(cache.connected).toBe(false);
    const session = new CachedSession({ cache, logger: null });
    sessions.push(session);
    const url = fresh();
    await (await session.fetch(url)).arrayBuffer();
    expect(cache.connected).toBe(true);
    expect(await session.fetch(url)).toBeInstanceOf(CachedResponse);
  });

  it("persists entries for a new session on the same cache", async () => {
    const session = await open();
    const url = fresh();
    await (await session.fetch(url)).arrayBuffer();
    const second = new CachedSession({ cache: session.cache, logger: null });
    expect(await second.fetch(url)).toBeInstanceOf(CachedResponse);
  });
});

describe("counters and events", () => {
  it("counts per repository and in total, and reports each outcome as an event", async () => {
    const events: SessionEvent[] = [];
    const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
    addRepositories(cache);
    await using session = new CachedSession({
      cache,
      fallback: false,
      onEvent: (event) => events.push(event),
      logger: null,
    });
    const url = fresh();
    await (await session.fetch(url)).arrayBuffer();
    await (await session.fetch(url)).arrayBuffer();
    await (await session.fetch(url, { cache: "no-store" })).arrayBuffer();
    const page = fresh("pages");
    await (await session.fetch(page)).arrayBuffer();
    await (await session.fetch(server.url("/elsewhere"))).arrayBuffer();
    const missing = fresh();
    server.on(pathOf(missing), (_, response) => json(response, {}, { status: 404 }));
    await (await session.fetch(missing)).arrayBuffer();

    const key = ["GET", url.split("/").at(-1)];
    expect(events).toEqual([
      { type: "miss", url, repository: "tracks", key, policy: "expire", reason: "no-entry" },
      { type: "store", url, repository: "tracks", key, bytes: expect.any(Number) },
      { type: "hit", url, repository: "tracks", key, stale: false, policy: "expire", status: "hit", reason: undefined },
      { type: "bypass", url, repository: "tracks", reason: "no-store" },
      {
        type: "miss",
        url: page,
        repository: "pages",
        key: ["GET", page.split("/").at(-1)],
        policy: "expire",
        reason: "no-entry",
      },
      {
        type: "store",
        url: page,
        repository: "pages",
        key: ["GET", page.split("/").at(-1)],
        bytes: expect.any(Number),
      },
      { type: "bypass", url: server.url("/elsewhere"), repository: undefined, reason: "no-repository" },
      {
        type: "miss",
        url: missing,
        repository: "tracks",
        key: ["GET", missing.split("/").at(-1)],
        policy: "expire",
        reason: "no-entry",
      },
      {
        type: "not-stored",
        url: missing,
        repository: "tracks",
        key: ["GET", missing.split("/").at(-1)],
        reason: "status",
      },
    ]);
    const stats = session.stats();
    expect(stats.total).toEqual({
      requests: 6,
      hits: 1,
      misses: 3,
      coalesced: 0,
      bypassed: 2,
      network: 5,
      stores: 2,
      errors: 0,
    });
    expect(stats.repositories.tracks).toEqual({
      requests: 4,
      hits: 1,
      misses: 2,
      coalesced: 0,
      bypassed: 1,
      network: 3,
      stores: 1,
      errors: 0,
    });
    expect(stats.repositories.pages).toMatchObject({ requests: 1, misses: 1, stores: 1 });
    // A snapshot does not change afterwards; resetting starts again from zero.
    await (await session.fetch(url)).arrayBuffer();
    expect(stats.total.hits).toBe(1);
    expect(session.stats().total.hits).toBe(2);
    session.resetStats();
    expect(session.stats()).toEqual({
      total: { requests: 0, hits: 0, misses: 0, coalesced: 0, bypassed: 0, network: 0, stores: 0, errors: 0 },
      repositories: {},
      breaker: { state: "closed", failures: 0, opened: 0, openedAt: null },
    });
  });

  it("keeps working when an event hook throws", async () => {
    const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
    addRepositories(cache);
    const warnings: unknown[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      await using session = new CachedSession({
        cache,
        onEvent: () => {
          throw new Error("metrics are down");
        },
      });
      const url = fresh();
      expect(await (await session.fetch(url)).json()).toMatchObject({ hit: 1 });
      expect(await (await session.fetch(url)).json()).toMatchObject({ hit: 1 });
      expect(session.stats().total).toMatchObject({ hits: 1, misses: 1, stores: 1 });
    } finally {
      console.warn = original;
    }
    expect(warnings).toHaveLength(1);
  });
});

describe("fetch's input checks", () => {
  const cases: [string, () => [string | URL | Request, RequestInit?]][] = [
    ["a string that is not a URL", () => ["not a url"]],
    ["a relative URL", () => ["/v1/tracks/1"]],
    ["credentials in the URL", () => [server.url("/v1/tracks/1").replace("http://", "http://user:pw@")]],
    ["a GET with a body", () => [track("1"), { body: "x" }]],
    ["an unknown cache mode", () => [track("1"), { cache: "sometimes" } as unknown as RequestInit]],
    ["an invalid method", () => [track("1"), { method: "GET POST" }]],
    ["an invalid header", () => [track("1"), { headers: { "bad header": "x" } }]],
  ];

  it.each(cases)("rejects %s with fetch's own TypeError, and touches no store", async (_, make) => {
    const cache = new FaultyMemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
    addRepositories(cache);
    await cache.connect();
    await using session = new CachedSession({ cache, logger: null });
    const args = make();
    const expected = await fetch(...args).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(expected).toBeInstanceOf(TypeError);
    const actual = await session.fetch(...args).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(actual).toBeInstanceOf(TypeError);
    expect((actual as TypeError).message).toBe((expected as TypeError).message);
    expect(cache.calls).toEqual({ reads: 0, writes: 0, routes: 0 });
    expect(session.stats().total.requests).toBe(0);
  });

  it("checks init even for a URL it can answer from the cache", async () => {
    const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
    addRepositories(cache);
    await using session = new CachedSession({ cache, logger: null });
    const url = fresh();
    await (await session.fetch(url)).arrayBuffer();
    await expect(session.fetch(url, { method: "GET", body: "x" })).rejects.toThrow(TypeError);
  });
});

describe("closing", () => {
  it("closes the cache with close() and with await using", async () => {
    const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
    addRepositories(cache);
    {
      await using session = new CachedSession({ cache, logger: null });
      await (await session.fetch(fresh())).arrayBuffer();
      expect(cache.connected).toBe(true);
    }
    expect(cache.connected).toBe(false);
    const other = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
    const session = new CachedSession({ cache: other });
    await other.connect();
    await session.close();
    expect(other.connected).toBe(false);
  });

  it("checks its options, naming the option", () => {
    const cache = new MemoryCache();
    expect(() => new CachedSession({ cache: 5 } as never)).toThrow(/a path or a URL/);
    expect(() => new CachedSession({ cache, fallback: "no" as never })).toThrow(/fallback must be true or false/);
    expect(() => new CachedSession({ cache, credentials: "yes" as never })).toThrow(/"partition", "bypass" or "share"/);
    expect(() => new CachedSession({ cache, expireByUrl: { "": 5 } })).toThrow(/cannot be empty/);
    expect(() => new CachedSession({ cache, expireByUrl: { "a.test/x": -1 } })).toThrow(RangeError);
    expect(() => new CachedSession({ cache, cacheCredentialed: true } as never)).toThrow(
      /no option "cacheCredentialed"/,
    );
    expect(() => new CachedSession({ cache, maxEntrySize: -1 })).toThrow(RangeError);
    expect(() => new CachedSession({ cache, maxEntrySize: 1.5 })).toThrow(/maxEntrySize/);
    expect(() => new CachedSession({ cache, strict: "yes" as never })).toThrow(/strict must be true or false/);
    expect(() => new CachedSession({ cache, fetch: "fetch" as never })).toThrow(/fetch must be a function/);
    expect(() => new CachedSession({ cache, logger: {} as never })).toThrow(/logger must have a warn/);
    expect(() => new CachedSession({ cache, expire: 5 } as never)).toThrow(/no option "expire"/);
  });
});
