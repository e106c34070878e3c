import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BearerAuthoriser,
  CachedSession,
  defineSettings,
  JSONPayloadHandler,
  type KeyRequest,
  MemoryCache,
  type PayloadHandler,
  RequestHandler,
  type RequestHandlerOptions,
  type ResponseCache,
  repositoryByPathSegment,
  SQLiteCache,
  StepCeilingTimer,
  StringPayloadHandler,
} from "../../src/index.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { ScriptedServer } from "../helpers/scripted-server.js";
import { tempFolder } from "../helpers/temp.js";

let server: ScriptedServer;
const folder = tempFolder("requestful-request-");

beforeAll(async () => {
  server = await ScriptedServer.start();
  server.route("/tracks/:id", () => ({ status: 500 }));
  for (const id of ["1", "2", "3"]) {
    server.route(`/tracks/${id}`, (request) => ({
      status: 200,
      body: { id, name: `Track ${id}`, user: request.headers.authorization ?? null },
    }));
  }
});
afterAll(async () => {
  await server.close();
  folder.remove();
});
afterEach(() => server.clearLog());

/** /tracks/ID keyed by its ID, for GET only; `keyBy` adds a header to the key. */
function trackSettings(keyBy?: string) {
  return defineSettings({
    name: "tracks",
    fields: keyBy === undefined ? ["id"] : ["id", "who"],
    getKey: ({ method, url, headers }: KeyRequest) => {
      const id = method === "GET" ? url.pathname.split("/")[2] : null;
      return keyBy === undefined ? [id] : [id, headers.get(keyBy) ?? ""];
    },
  });
}

const backends: [string, () => ResponseCache][] = [
  ["memory", () => new MemoryCache({ repositoryGetter: repositoryByPathSegment(0) })],
  [
    "sqlite",
    () =>
      SQLiteCache.connectWithPath(join(folder.path, `c${Math.random()}`), {
        repositoryGetter: repositoryByPathSegment(0),
      }),
  ],
];

describe.each(backends)("with a %s cache", (_, makeCache) => {
  function setUp<T = string>(options: RequestHandlerOptions<T> = {}, keyBy?: string) {
    const clock = new FakeClock();
    const cache = makeCache();
    const repository = cache.createRepository(trackSettings(keyBy));
    const handler = RequestHandler.create<T>({
      cache,
      clock,
      waitTimer: new StepCeilingTimer({ initial: 50, final: 50, clock }),
      ...options,
    });
    return { clock, cache, repository, handler };
  }

  it("answers a repeated GET from the cache: no network, no wait", async () => {
    const { clock, handler } = setUp({ payloadHandler: new JSONPayloadHandler() });
    await using _ = handler;
    const first = await handler.get(server.url("/tracks/1"));
    for (let i = 0; i < 10; i++) expect(await handler.get(server.url("/tracks/1"))).toEqual(first);
    expect(server.count("/tracks/1")).toBe(1);
    await handler.get(server.url("/tracks/2"));
    expect(server.count()).toBe(2);
    // Only the second network request waited for the pace; the ten hits did not.
    expect(clock.sleeps).toEqual([50]);
  });

  it("answers a hit within two microtask steps, without waiting for the repository's own promises", async () => {
    const { handler } = setUp({ payloadHandler: new JSONPayloadHandler() });
    await using _ = handler;
    const first = await handler.get(server.url("/tracks/3"));
    await handler.get(server.url("/tracks/3")); // the URL's route is remembered from here on
    let value: unknown;
    void handler.get(server.url("/tracks/3")).then((hit) => {
      value = hit;
    });
    // A memory or SQLite read answers at once: the hit's one promise settles, then its reader runs.
    await Promise.resolve();
    await Promise.resolve();
    expect(value).toEqual(first);
    expect(server.count("/tracks/3")).toBe(1);
  });

  it("returns text by default, and caches exactly what it returns", async () => {
    const { handler, repository } = setUp();
    await using _ = handler;
    const text = await handler.get(server.url("/tracks/1"));
    expect(text).toBe('{"id":"1","name":"Track 1","user":null}');
    expect(repository.settings.payloadHandler).toBeInstanceOf(StringPayloadHandler);
    expect(await repository.getResponse(["GET", "1"])).toBe(text);
  });

  it("with the JSON handler, returns the JSON value and caches the body, leaving the repository's payload handler alone", async () => {
    const { handler, repository } = setUp({ payloadHandler: new JSONPayloadHandler() });
    const own = repository.settings.payloadHandler;
    await using _ = handler;
    const value = await handler.get(server.url("/tracks/2"));
    expect(value).toEqual({ id: "2", name: "Track 2", user: null });
    expect(repository.settings.payloadHandler).toBe(own);
    expect(await repository.getResponse(["GET", "2"])).toBe(JSON.stringify(value));
    expect(await handler.get(server.url("/tracks/2"))).toEqual(value);
    expect(server.count()).toBe(1);
  });

  it("decodes hits from repositories created after it with its own payload handler", async () => {
    const clock = new FakeClock();
    const cache = makeCache();
    const payloadHandler: PayloadHandler<unknown> = new JSONPayloadHandler();
    await using handler = RequestHandler.create({ cache, clock, payloadHandler });
    const repository = cache.createRepository(trackSettings());
    await handler.get(server.url("/tracks/3"));
    expect(repository.settings.payloadHandler).toBeInstanceOf(StringPayloadHandler);
    expect(await handler.get(server.url("/tracks/3"))).toEqual({ id: "3", name: "Track 3", user: null });
    expect(server.count()).toBe(1);
  });

  it("two handlers with different payload handlers on one cache each decode hits their own way", async () => {
    const clock = new FakeClock();
    const cache = makeCache();
    const repository = cache.createRepository(trackSettings());
    const own = repository.settings.payloadHandler;
    const json = RequestHandler.create({ cache, clock, payloadHandler: new JSONPayloadHandler() });
    const text = new RequestHandler({ session: json.session as CachedSession, clock });
    await using _ = json;
    const expected = { id: "1", name: "Track 1", user: null };
    expect(await json.get(server.url("/tracks/1"))).toEqual(expected);
    expect(await text.get(server.url("/tracks/1"))).toBe(JSON.stringify(expected));
    // The JSON handler's second get is a hit, and still JSON; the text handler's is still text.
    expect(await json.get(server.url("/tracks/1"))).toEqual(expected);
    expect(await text.get(server.url("/tracks/1"))).toBe(JSON.stringify(expected));
    expect(server.count()).toBe(1);
    expect(repository.settings.payloadHandler).toBe(own);
  });

  it("two handlers created over one cache do not rewrite each other's decoding", async () => {
    const clock = new FakeClock();
    const cache = makeCache();
    cache.createRepository(trackSettings());
    const json = RequestHandler.create({ cache, clock, payloadHandler: new JSONPayloadHandler() });
    const first = await json.get(server.url("/tracks/2"));
    const text = RequestHandler.create({ cache, clock });
    expect(await json.get(server.url("/tracks/2"))).toEqual(first);
    expect(typeof (await text.get(server.url("/tracks/2")))).toBe("string");
    expect(await json.get(server.url("/tracks/2"))).toEqual(first);
    expect(server.count()).toBe(1);
    await json.close();
  });

  it("does not cache requests with credentials that the key does not tell apart", async () => {
    const { handler, repository } = setUp({ authoriser: new BearerAuthoriser({ token: "alice" }) });
    await using _ = handler;
    await handler.connect();
    await handler.get(server.url("/tracks/1"));
    await handler.get(server.url("/tracks/1"));
    expect(server.count("/tracks/1")).toBe(2);
    expect(await repository.count()).toBe(0);
  });

  it("a Cookie header counts as credentials too", async () => {
    const { handler, repository } = setUp();
    await using _ = handler;
    await handler.connect();
    await handler.get(server.url("/tracks/1"), { headers: { cookie: "session=1" } });
    await handler.get(server.url("/tracks/1"), { headers: { cookie: "session=1" } });
    expect(server.count("/tracks/1")).toBe(2);
    expect(await repository.count()).toBe(0);
  });

  it('caches them with credentials: "share"', async () => {
    const { handler, repository } = setUp({
      authoriser: new BearerAuthoriser({ token: "alice" }),
      credentials: "share",
    });
    await using _ = handler;
    await handler.get(server.url("/tracks/1"));
    await handler.get(server.url("/tracks/1"));
    expect(server.count("/tracks/1")).toBe(1);
    expect(await repository.count()).toBe(1);
  });

  it("caches them when the key includes the credentials, apart for each user", async () => {
    const { handler, repository } = setUp({ payloadHandler: new JSONPayloadHandler() }, "authorization");
    await using _ = handler;
    const asAlice = { headers: { authorization: "Bearer alice" } };
    const asBob = { headers: { authorization: "Bearer bob" } };
    expect(await handler.get(server.url("/tracks/1"), asAlice)).toMatchObject({ user: "Bearer alice" });
    expect(await handler.get(server.url("/tracks/1"), asAlice)).toMatchObject({ user: "Bearer alice" });
    expect(server.count("/tracks/1")).toBe(1);
    expect(await handler.get(server.url("/tracks/1"), asBob)).toMatchObject({ user: "Bearer bob" });
    expect(server.count("/tracks/1")).toBe(2);
    expect(await repository.count()).toBe(2);
  });

  it("goes to the network for cache: reload, and stores the answer", async () => {
    const { handler } = setUp();
    await using _ = handler;
    await handler.get(server.url("/tracks/2"));
    await handler.get(server.url("/tracks/2"), { cache: "reload" });
    await handler.get(server.url("/tracks/2"));
    expect(server.count("/tracks/2")).toBe(2);
  });

  it("a hit that the session serves (force-cache) is not paced either", async () => {
    const { clock, handler } = setUp();
    await using _ = handler;
    await handler.get(server.url("/tracks/3"));
    for (let i = 0; i < 5; i++) await handler.get(server.url("/tracks/3"), { cache: "force-cache" });
    expect(server.count("/tracks/3")).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("sends through a CachedSession given to the constructor, and closes its cache", async () => {
    const cache = makeCache();
    cache.createRepository(trackSettings());
    const session = new CachedSession({ cache });
    const handler = new RequestHandler({ session, clock: new FakeClock(), payloadHandler: new JSONPayloadHandler() });
    expect(handler.cache).toBe(cache);
    expect(await handler.get(server.url("/tracks/1"))).toMatchObject({ id: "1" });
    expect(await handler.get(server.url("/tracks/1"))).toMatchObject({ id: "1" });
    expect(server.count("/tracks/1")).toBe(1);
    await handler.close();
    expect(cache.connected).toBe(false);
    expect(() => new RequestHandler({ session, cache: makeCache() })).toThrow(TypeError);
  });

  it("fails open: a repository that throws leaves the request to the network", async () => {
    const errors: unknown[] = [];
    const clock = new FakeClock();
    const cache = makeCache();
    cache.createRepository(
      defineSettings({
        name: "tracks",
        fields: ["id"],
        getKey: () => {
          throw new Error("broken settings");
        },
      }),
    );
    await using handler = RequestHandler.create({
      cache,
      clock,
      sessionOptions: { onError: (error) => errors.push(error), logger: null },
    });
    expect(await handler.get(server.url("/tracks/1"))).toContain("Track 1");
    expect(await handler.get(server.url("/tracks/1"))).toContain("Track 1");
    expect(server.count("/tracks/1")).toBe(2);
    expect(errors).toHaveLength(2);
  });

  it("await using closes the cache", async () => {
    const { handler, cache } = setUp();
    {
      await using open = handler;
      await open.get(server.url("/tracks/1"));
      expect(cache.connected).toBe(true);
    }
    expect(cache.connected).toBe(false);
    expect(handler.closed).toBe(true);
  });
});
