import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CachedResponse,
  CachedSession,
  type CachedSessionOptions,
  CacheError,
  type CacheErrorContext,
  repositoryByPathSegment,
  type SessionEvent,
  SQLiteCache,
} from "../../src/index.js";
import { FaultyMemoryCache, lockedError } from "../helpers/faulty-cache.js";
import { startServer, type TestServer } from "../helpers/http-server.js";
import { addRepositories } from "../helpers/session.js";
import { tempFolder } from "../helpers/temp.js";

let server: TestServer;
const folder = tempFolder("requestful-session-faults-");

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.close();
  folder.remove();
});

let unique = 0;
function fresh(): { url: string; path: string } {
  const path = `/v1/tracks/f${++unique}`;
  return { url: server.url(path), path };
}

interface Harness {
  cache: FaultyMemoryCache;
  session: CachedSession;
  errors: [unknown, CacheErrorContext][];
  events: SessionEvent[];
  warnings: [string, unknown][];
}

async function harness(options: Omit<CachedSessionOptions, "cache"> = {}, connect = true): Promise<Harness> {
  const cache = new FaultyMemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
  addRepositories(cache);
  if (connect) await cache.connect();
  const errors: [unknown, CacheErrorContext][] = [];
  const events: SessionEvent[] = [];
  const warnings: [string, unknown][] = [];
  const session = new CachedSession({
    cache,
    onError: (error, context) => errors.push([error, context]),
    onEvent: (event) => events.push(event),
    logger: { warn: (message, error) => warnings.push([message, error]) },
    ...options,
  });
  return { cache, session, errors, events, warnings };
}

describe("a cache that fails, fails open", () => {
  it("goes to the network when the backend throws on read, and reports it", async () => {
    const { cache, session, errors, warnings } = await harness();
    const { url, path } = fresh();
    await (await session.fetch(url)).arrayBuffer();
    cache.faults.read = new Error("disk I/O error");
    const response = await session.fetch(url);
    expect(response).not.toBeInstanceOf(CachedResponse);
    expect(await response.json()).toMatchObject({ hit: 2 });
    expect(server.count(path)).toBe(2);
    expect(errors).toHaveLength(1);
    const [error, context] = errors[0] ?? [];
    expect(error).toBeInstanceOf(CacheError);
    expect((error as CacheError).message).toMatch(/disk I\/O error/);
    expect(context).toEqual({ kind: "read", url, repository: "tracks" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.[0]).toMatch(/cache read error .* the request went on without the cache/);
    expect(session.stats().total.errors).toBe(1);
    cache.faults.read = undefined;
    expect(await session.fetch(url)).toBeInstanceOf(CachedResponse);
  });

  it("goes to the network when the store is locked", async () => {
    const { cache, session, errors } = await harness();
    const { url } = fresh();
    await (await session.fetch(url)).arrayBuffer();
    cache.faults.read = lockedError();
    cache.faults.write = lockedError();
    expect(await (await session.fetch(url)).json()).toMatchObject({ hit: 2 });
    expect(errors.map(([, context]) => context.kind)).toEqual(["read", "write"]);
    expect(String(errors[0]?.[0])).toMatch(/database is locked/);
  });

  it("returns the whole response when the backend throws on write, and stores nothing", async () => {
    const { cache, session, errors, events } = await harness();
    cache.faults.write = new Error("disk full");
    const { url, path } = fresh();
    const response = await session.fetch(url);
    expect(await response.json()).toEqual({ path, hit: 1 });
    expect(errors.map(([, context]) => context.kind)).toEqual(["write"]);
    expect(events.map((event) => event.type)).toEqual(["miss", "error"]);
    cache.faults.write = undefined;
    expect(await (await session.fetch(url)).json()).toEqual({ path, hit: 2 });
    expect(server.count(path)).toBe(2);
  });

  it("gives the caller a complete body when the backend fails while the body arrives", async () => {
    const { cache, session, errors } = await harness();
    const { url, path } = fresh();
    const half = `{"part":"${"a".repeat(50_000)}",`;
    const rest = `"more":"${"b".repeat(50_000)}"}`;
    server.on(path, async (_, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write(half);
      await new Promise((resolve) => setTimeout(resolve, 30));
      cache.faults.write = new Error("the disk went away");
      response.end(rest);
    });
    const response = await session.fetch(url);
    expect(await response.text()).toBe(half + rest);
    expect(errors.map(([, context]) => context.kind)).toEqual(["write"]);
    expect(cache.calls.writes).toBe(1);
  });

  it("gives the caller a complete body when the session's cache closes while the body arrives", async () => {
    const { session, errors } = await harness();
    const { url, path } = fresh();
    server.on(path, async (_, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"first":');
      await new Promise((resolve) => setTimeout(resolve, 30));
      await session.close();
      response.end('"second"}');
    });
    const response = await session.fetch(url);
    expect(await response.json()).toEqual({ first: "second" });
    // close() stopped recording the body that had not ended: it is not stored, and no write fails.
    expect(errors).toEqual([]);
    // Closed, the session still fetches, and says each time that the cache is closed.
    expect(await (await session.fetch(url)).json()).toEqual({ first: "second" });
    expect(errors.map(([error, context]) => [context.kind, (error as Error).message])).toEqual([
      ["connect", expect.stringMatching(/closed/)],
    ]);
  });

  it.each([
    ["headers that are not JSON", { headers: "{not json" }],
    ["headers that are not pairs", { headers: '[["a"]]' }],
    ["a status out of range", { status: 42 }],
    ["a payload of the wrong type", { payload: 42 }],
  ])("goes to the network for an entry with %s", async (_, corrupt) => {
    const { cache, session, errors } = await harness();
    const { url, path } = fresh();
    await (await session.fetch(url)).arrayBuffer();
    cache.faults.corrupt = corrupt;
    const response = await session.fetch(url);
    expect(response).not.toBeInstanceOf(CachedResponse);
    expect(await response.json()).toEqual({ path, hit: 2 });
    expect(errors.map(([error, context]) => [context.kind, error instanceof CacheError])).toEqual([["entry", true]]);
  });

  it("goes to the network when the cache cannot connect", async () => {
    const { cache, session, errors } = await harness({}, false);
    cache.connectError = new Error("no route to the cache");
    const { url, path } = fresh();
    expect(await (await session.fetch(url)).json()).toEqual({ path, hit: 1 });
    expect(errors.map(([, context]) => context.kind)).toEqual(["connect"]);
    expect(cache.calls.writes).toBe(0);
    cache.connectError = undefined;
    await (await session.fetch(url)).arrayBuffer();
    expect(await session.fetch(url)).toBeInstanceOf(CachedResponse);
  });

  it("goes to the network when routing or keying throws", async () => {
    const { cache, session, errors, events } = await harness();
    cache.repositoryGetter = () => {
      throw new Error("router bug");
    };
    const { url, path } = fresh();
    expect(await (await session.fetch(url)).json()).toEqual({ path, hit: 1 });
    expect(errors.map(([error, context]) => [context.kind, (error as Error).message])).toEqual([
      ["route", expect.stringMatching(/router bug/)],
    ]);
    expect(events.at(-1)).toEqual({ type: "bypass", url, repository: undefined, reason: "error" });
  });

  it("goes to the network when a real SQLite cache is closed underneath it", async () => {
    const cache = SQLiteCache.connectWithPath(join(folder.path, "closed"), {
      repositoryGetter: repositoryByPathSegment(1),
    });
    addRepositories(cache);
    await cache.connect();
    const kinds: string[] = [];
    const session = new CachedSession({ cache, onError: (_, { kind }) => kinds.push(kind), logger: null });
    const { url, path } = fresh();
    await (await session.fetch(url)).arrayBuffer();
    await cache.close();
    expect(await (await session.fetch(url)).json()).toEqual({ path, hit: 2 });
    expect(kinds).toEqual(["connect"]);
  });
});

describe("concurrent hits", () => {
  it("share one bulk read, and each gets its own entry", async () => {
    const { cache, session } = await harness();
    const resources = Array.from({ length: 50 }, () => fresh());
    for (const { url } of resources) await (await session.fetch(url)).arrayBuffer();
    cache.calls.reads = 0;
    const responses = await Promise.all(resources.map(({ url }) => session.fetch(url)));
    for (const [i, response] of responses.entries()) {
      expect(response).toBeInstanceOf(CachedResponse);
      expect(await response.json()).toEqual({ path: resources[i]?.path, hit: 1 });
    }
    // The first read goes alone; the 49 that arrive while it is under way go together.
    expect(cache.calls.reads).toBe(2);
    expect(session.stats().total).toMatchObject({ hits: 50, network: 50 });
  });

  it("fail open together when their bulk read fails", async () => {
    const { cache, session, errors } = await harness();
    const resources = Array.from({ length: 10 }, () => fresh());
    for (const { url } of resources) await (await session.fetch(url)).arrayBuffer();
    cache.faults.read = new Error("disk I/O error");
    const bodies = await Promise.all(resources.map(async ({ url }) => (await session.fetch(url)).json()));
    expect(bodies).toEqual(resources.map(({ path }) => ({ path, hit: 2 })));
    expect(errors.filter(([, context]) => context.kind === "read")).toHaveLength(10);
  });
});

describe("strict", () => {
  it("rejects with the cache error on read, on write and for a corrupt entry", async () => {
    const { cache, session, errors } = await harness({ strict: true });
    const { url, path } = fresh();
    await (await session.fetch(url)).arrayBuffer();

    cache.faults.read = new Error("disk I/O error");
    await expect(session.fetch(url)).rejects.toThrow(CacheError);
    cache.faults.read = undefined;

    cache.faults.corrupt = { status: 1 };
    await expect(session.fetch(url)).rejects.toThrow(/status/);
    cache.faults.corrupt = undefined;

    cache.faults.write = new Error("disk full");
    await expect(session.fetch(url, { cache: "reload" })).rejects.toThrow(/disk full/);
    expect(server.count(path)).toBe(2);
    expect(errors.map(([, context]) => context.kind)).toEqual(["read", "entry", "write"]);
  });

  it("still returns a response that the payload handler refuses to store", async () => {
    const { session, errors } = await harness({ strict: true });
    const { url, path } = fresh();
    server.on(path, (_, response) => {
      response.writeHead(200, { "content-type": "text/plain" }).end("plain text");
    });
    expect(await (await session.fetch(url)).text()).toBe("plain text");
    expect(errors.map(([, context]) => context.kind)).toEqual(["payload"]);
  });
});

describe("the default logger", () => {
  it("warns once per kind of error, and counts the rest", async () => {
    const cache = new FaultyMemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
    addRepositories(cache);
    await cache.connect();
    const warnings: unknown[][] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      await using session = new CachedSession({ cache });
      cache.faults.read = new Error("disk I/O error");
      cache.faults.write = new Error("disk full");
      for (let i = 0; i < 3; i++) await (await session.fetch(fresh().url)).arrayBuffer();
      expect(session.stats().total.errors).toBe(6);
    } finally {
      console.warn = original;
    }
    expect(warnings.map(([message]) => String(message).match(/cache (\w+) error/)?.[1])).toEqual(["read", "write"]);
    expect(warnings[0]?.[1]).toBeInstanceOf(CacheError);
  });

  it("logs nothing with logger: null", async () => {
    const original = console.warn;
    const warnings: unknown[] = [];
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      const { cache, session } = await harness({ logger: null });
      cache.faults.read = new Error("disk I/O error");
      await (await session.fetch(fresh().url)).arrayBuffer();
      expect(session.stats().total.errors).toBe(1);
    } finally {
      console.warn = original;
    }
    expect(warnings).toEqual([]);
  });
});
