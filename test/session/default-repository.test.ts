/**
 * The first minute: a session with no repository of the user's caches every GET by its normalised
 * URL in the default HTTP repository, keeps callers' credentials apart and never stores them.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CACHE_ENV,
  CachedResponse,
  CachedSession,
  DEFAULT_CACHE_PATH,
  defaultCacheLocation,
  defineSettings,
  HTTP_REPOSITORY,
  JSONPayloadHandler,
  MemoryCache,
  normalizeUrl,
  type SessionEvent,
} from "../../src/index.js";
import { UrlRules } from "../../src/session/url-rules.js";
import { json, startServer, type TestServer } from "../helpers/http-server.js";
import { tempFolder } from "../helpers/temp.js";

let server: TestServer;
const folder = tempFolder("requestful-default-");
const sessions: CachedSession[] = [];
let unique = 0;

beforeAll(async () => {
  // The default repository follows the origin's caching headers: these answers are fresh for an hour.
  server = await startServer({ headers: { "cache-control": "max-age=3600" } });
});
afterEach(async () => {
  for (const session of sessions.splice(0)) await session.close();
});
afterAll(async () => {
  await server.close();
  folder.remove();
});

function track(session: CachedSession): CachedSession {
  sessions.push(session);
  return session;
}

function sqlitePath(): string {
  return join(folder.path, `cache${++unique}.sqlite`);
}

describe("the URL a key is made of", () => {
  it("lower-cases scheme and host, drops the default port and the fragment, sorts the query, normalises escapes", () => {
    expect(normalizeUrl(new URL("HTTPS://API.Example.com:443/a%7eb/%2f?b=2&a=1#top"))).toBe(
      "https://api.example.com/a~b/%2F?a=1&b=2",
    );
    expect(normalizeUrl(new URL("http://x.test/p?"))).toBe("http://x.test/p");
    expect(normalizeUrl(new URL("http://x.test/p?a=2&a=1&b"))).toBe("http://x.test/p?a=1&a=2&b");
    expect(normalizeUrl(new URL("http://x.test:8080/p?a=%6a"))).toBe("http://x.test:8080/p?a=j");
    expect(normalizeUrl(new URL("http://x.test/p?api_key=s&a=1"), new Set(["api_key"]))).toBe("http://x.test/p?a=1");
  });

  it("refuses a URL with credentials in it", () => {
    expect(() => normalizeUrl(new URL("http://u:p@x.test/"))).toThrow(/credentials/);
  });
});

describe("a session with no repository of its own", () => {
  it("caches a GET in the default location (.cache/requestful.sqlite, or REQUESTFUL_CACHE)", async () => {
    expect(defaultCacheLocation({})).toBe(DEFAULT_CACHE_PATH);
    expect(defaultCacheLocation({ [CACHE_ENV]: " memory: " })).toBe("memory:");
    const cwd = process.cwd();
    const saved = process.env[CACHE_ENV];
    delete process.env[CACHE_ENV];
    process.chdir(folder.path);
    try {
      await using session = new CachedSession();
      const url = server.url(`/zero/${++unique}`);
      expect(await (await session.fetch(url)).json()).toMatchObject({ hit: 1 });
      const again = await session.fetch(url);
      expect(again).toBeInstanceOf(CachedResponse);
      expect(await again.json()).toMatchObject({ hit: 1 });
      expect(session.cache.get(HTTP_REPOSITORY)).toBeDefined();
    } finally {
      process.chdir(cwd);
      if (saved !== undefined) process.env[CACHE_ENV] = saved;
    }
    expect(existsSync(join(folder.path, DEFAULT_CACHE_PATH))).toBe(true);
  });

  it("takes a path or a URL as its cache, opens it on first use, and closes it", async () => {
    const path = sqlitePath();
    const session = new CachedSession({ cache: path });
    expect(() => session.cache).toThrow(/not open yet/);
    const url = server.url(`/path/${++unique}`);
    await (await session.fetch(url)).arrayBuffer();
    expect(session.cache.type).toBe("sqlite");
    await session.close();
    expect(session.cache.connected).toBe(false);
    await using reopened = new CachedSession({ cache: path });
    expect(await reopened.fetch(url)).toBeInstanceOf(CachedResponse);
    await using memory = new CachedSession({ cache: "memory:" });
    expect((await memory.ready()).type).toBe("memory");
  });

  it("rejects a cache location it cannot use on the request, naming it", async () => {
    const session = new CachedSession({ cache: "nosuch://place" });
    await expect(session.fetch(server.url("/x"))).rejects.toThrow(/nosuch/);
  });

  it("caches GET and HEAD but not POST; HEAD is answered from the stored GET", async () => {
    const session = track(new CachedSession({ cache: new MemoryCache(), logger: null }));
    const url = server.url(`/methods/${++unique}`);
    const path = new URL(url).pathname;
    await (await session.fetch(url)).arrayBuffer();
    const head = await session.fetch(url, { method: "HEAD" });
    expect(head).toBeInstanceOf(CachedResponse);
    expect(head.body).toBeNull();
    expect(head.headers.get("content-type")).toMatch(/json/);
    expect(server.count(path)).toBe(1);
    await (await session.fetch(url, { method: "POST", body: "a" })).arrayBuffer();
    await (await session.fetch(url, { method: "POST", body: "a" })).arrayBuffer();
    expect(server.count(path)).toBe(3);
    const uncachedHead = server.url(`/methods/${++unique}`);
    await (await session.fetch(uncachedHead, { method: "HEAD" })).arrayBuffer();
    await (await session.fetch(uncachedHead, { method: "HEAD" })).arrayBuffer();
    expect(server.count(new URL(uncachedHead).pathname)).toBe(2);
  });

  it("drops the stored GET of a URL after a POST, PUT or DELETE to it succeeds, in the caller's partition too", async () => {
    const session = track(new CachedSession({ cache: new MemoryCache() }));
    for (const method of ["POST", "PUT", "DELETE"]) {
      const url = server.url(`/changed/${++unique}`);
      const asAlice = { headers: { authorization: "Bearer alice" } };
      await (await session.fetch(url)).arrayBuffer();
      await (await session.fetch(url, asAlice)).arrayBuffer();
      expect(await session.fetch(url)).toBeInstanceOf(CachedResponse);
      await (await session.fetch(url, { method, body: method === "DELETE" ? null : "x", ...asAlice })).arrayBuffer();
      for (const init of [{}, asAlice]) {
        const after = await session.fetch(url, init);
        expect(after).not.toBeInstanceOf(CachedResponse);
        await after.arrayBuffer();
      }
    }
  });

  it("keys a POST by a digest of its body when told to cache POST", async () => {
    const session = track(new CachedSession({ cache: new MemoryCache(), methods: ["GET", "HEAD", "POST"] }));
    const url = server.url(`/search/${++unique}`);
    const path = new URL(url).pathname;
    const post = (body: string) => session.fetch(url, { method: "POST", body });
    expect(await (await post('{"q":"a"}')).json()).toMatchObject({ hit: 1 });
    expect(await (await post('{"q":"b"}')).json()).toMatchObject({ hit: 2 });
    const again = await post('{"q":"a"}');
    expect(again).toBeInstanceOf(CachedResponse);
    expect(await again.json()).toMatchObject({ hit: 1 });
    expect(server.count(path)).toBe(2);
    expect(server.arrivals.at(-1)?.method).toBe("POST");
  });

  it("shares an entry between query orders, and not between values or hosts", async () => {
    const session = track(new CachedSession({ cache: new MemoryCache() }));
    const base = `/query/${++unique}`;
    await (await session.fetch(server.url(`${base}?a=1&b=2`))).arrayBuffer();
    expect(await session.fetch(server.url(`${base}?b=2&a=1`))).toBeInstanceOf(CachedResponse);
    expect(await session.fetch(server.url(`${base}?a=1&b=2#part`))).toBeInstanceOf(CachedResponse);
    const other = await session.fetch(server.url(`${base}?a=2&b=2`));
    expect(other).not.toBeInstanceOf(CachedResponse);
    await other.arrayBuffer();
    const localhost = server.url(`${base}?a=1&b=2`).replace("127.0.0.1", "localhost");
    const elsewhere = await session.fetch(localhost);
    expect(elsewhere).not.toBeInstanceOf(CachedResponse);
    await elsewhere.arrayBuffer();
  });

  it("keys apart the request headers named in matchHeaders", async () => {
    const session = track(new CachedSession({ cache: new MemoryCache(), matchHeaders: ["Accept-Language"] }));
    const url = server.url(`/lang/${++unique}`);
    const get = (language: string) => session.fetch(url, { headers: { "accept-language": language } });
    await (await get("fr")).arrayBuffer();
    const english = await get("en");
    expect(english).not.toBeInstanceOf(CachedResponse);
    await english.arrayBuffer();
    expect(await get("fr")).toBeInstanceOf(CachedResponse);
  });

  it("leaves uncached what fallback: false leaves to no repository", async () => {
    const session = track(new CachedSession({ cache: new MemoryCache(), fallback: false }));
    const url = server.url(`/off/${++unique}`);
    await (await session.fetch(url)).arrayBuffer();
    expect(await session.fetch(url)).not.toBeInstanceOf(CachedResponse);
  });
});

describe("credentials", () => {
  it("never answers one bearer token with another's entry, and stores no credential (SQLite file)", async () => {
    const path = sqlitePath();
    const events: SessionEvent[] = [];
    const session = track(new CachedSession({ cache: path, onEvent: (event) => events.push(event) }));
    const url = server.url(`/me/${++unique}?api_key=key-secret-1234&view=full`);
    // The default answer echoes the path and query: these answer without the key in the body.
    for (const key of ["key-secret-1234", "key-secret-5678"]) {
      const path = new URL(url.replace("key-secret-1234", key));
      server.on(`${path.pathname}${path.search}`, (_request, response, hit) =>
        json(response, { hit }, { headers: { "cache-control": "max-age=3600" } }),
      );
    }
    const as = (token: string) => session.fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(await (await as("token-alpha-secret")).json()).toMatchObject({ hit: 1 });
    expect(await (await as("token-beta-secret")).json()).toMatchObject({ hit: 2 });
    const alpha = await as("token-alpha-secret");
    expect(alpha).toBeInstanceOf(CachedResponse);
    expect(await alpha.json()).toMatchObject({ hit: 1 });
    expect(alpha.url).toBe(url);
    const anonymous = await session.fetch(url);
    expect(anonymous).not.toBeInstanceOf(CachedResponse);
    await anonymous.arrayBuffer();
    const otherKey = await session.fetch(url.replace("key-secret-1234", "key-secret-5678"), {
      headers: { authorization: "Bearer token-alpha-secret" },
    });
    expect(otherKey).not.toBeInstanceOf(CachedResponse);
    await otherKey.arrayBuffer();
    await session.close();
    const bytes = readFileSync(path);
    const wal = existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0);
    for (const secret of ["token-alpha-secret", "token-beta-secret", "key-secret-1234", "key-secret-5678"]) {
      expect(bytes.includes(secret)).toBe(false);
      expect(wal.includes(secret)).toBe(false);
      expect(JSON.stringify(events)).not.toContain(secret);
    }
    expect(events.some((event) => event.type === "store" && event.url.includes("api_key=REDACTED"))).toBe(true);
  });

  it("bypasses credentialed requests with credentials: 'bypass'", async () => {
    const session = track(new CachedSession({ cache: new MemoryCache(), credentials: "bypass" }));
    const url = server.url(`/bypass/${++unique}`);
    for (let i = 0; i < 2; i++) {
      const response = await session.fetch(url, { headers: { cookie: "session=1" } });
      expect(response).not.toBeInstanceOf(CachedResponse);
      await response.arrayBuffer();
    }
  });

  it("shares a public repository's entries across tokens, so a token refresh still hits", async () => {
    const cache = new MemoryCache({ repositoryGetter: (cache) => cache.get("catalogue") });
    cache.createRepository(
      defineSettings({
        name: "catalogue",
        fields: ["id"],
        getKey: ({ url }) => [url.pathname.split("/")[2]],
        payloadHandler: new JSONPayloadHandler(),
        public: true,
      }),
    );
    const session = track(new CachedSession({ cache }));
    const url = server.url(`/catalogue/${++unique}`);
    await (await session.fetch(url, { headers: { authorization: "Bearer old" } })).arrayBuffer();
    expect(await session.fetch(url, { headers: { authorization: "Bearer refreshed" } })).toBeInstanceOf(CachedResponse);
  });

  it("does not cache credentialed requests in a repository whose key does not tell callers apart", async () => {
    const cache = new MemoryCache({ repositoryGetter: (cache) => cache.get("private") });
    cache.createRepository(
      defineSettings({ name: "private", fields: ["id"], getKey: ({ url }) => [url.pathname.split("/")[2]] }),
    );
    const session = track(new CachedSession({ cache }));
    const url = server.url(`/private/${++unique}`);
    await (await session.fetch(url, { headers: { authorization: "Bearer a" } })).arrayBuffer();
    const other = await session.fetch(url, { headers: { authorization: "Bearer b" } });
    expect(other).not.toBeInstanceOf(CachedResponse);
    await other.arrayBuffer();
  });
});

describe("expiry by URL", () => {
  it("picks the most specific pattern, then the first given", () => {
    const rules = new UrlRules({
      "*.example.com/**": { days: 1 },
      "api.example.com/v1/*": { hours: 1 },
      "api.example.com/v1/me": false,
      "https://api.example.com/v1/tracks/*": "never",
      "api.example.com/v1/albums/*": 5_000,
      "api.example.com/v1/*/a": 7_000,
    });
    expect(rules.match(new URL("https://api.example.com/v1/me"))).toBe(false);
    expect(rules.match(new URL("https://api.example.com/v1/tracks/42"))).toBe("never");
    expect(rules.match(new URL("https://api.example.com/v1/artists"))).toEqual({ hours: 1 });
    expect(rules.match(new URL("https://cdn.example.com/a/b/c"))).toEqual({ days: 1 });
    expect(rules.match(new URL("https://api.example.com/v1/albums/a"))).toBe(5_000);
    expect(rules.match(new URL("https://example.org/"))).toBeUndefined();
  });

  it("checks patterns at construction", () => {
    expect(() => new UrlRules({ "api.example.com/v1?x=1": 5 })).toThrow(/no query/);
    expect(() => new UrlRules({ "**.example.com": 5 })).toThrow(/only be used in the path/);
    expect(() => new UrlRules({ "a.test": "soon" as never })).toThrow(/a duration, "never" or false/);
  });

  it("keeps a response as long as a rule or the request says, whatever the origin says (fake clock)", async () => {
    let now = Date.UTC(2026, 0, 31, 12);
    const cache = new MemoryCache({ now: () => now });
    const session = track(
      new CachedSession({
        cache,
        expireByUrl: { "127.0.0.1/ruled/**": { minutes: 5 }, "127.0.0.1/ruled/forever/*": "never" },
      }),
    );
    const stale = (path: string) => {
      server.on(path, (_request, response, hit) =>
        json(response, { hit }, { headers: { "cache-control": "no-cache" } }),
      );
      return server.url(path);
    };
    const ruled = stale(`/ruled/${++unique}`);
    const forever = stale(`/ruled/forever/${++unique}`);
    const asked = stale(`/asked/${++unique}`);
    await (await session.fetch(ruled)).arrayBuffer();
    await (await session.fetch(forever)).arrayBuffer();
    await (await session.fetch(asked, { expire: { seconds: 30 } })).arrayBuffer();
    now += 20_000;
    for (const url of [ruled, forever, asked]) expect(await session.fetch(url)).toBeInstanceOf(CachedResponse);
    now += 20_000; // past the request's 30 s, within the rule's 5 minutes
    const expired = await session.fetch(asked);
    expect(expired).not.toBeInstanceOf(CachedResponse);
    await expired.arrayBuffer();
    expect(await session.fetch(ruled)).toBeInstanceOf(CachedResponse);
    now += 5 * 60_000;
    const past = await session.fetch(ruled);
    expect(past).not.toBeInstanceOf(CachedResponse);
    await past.arrayBuffer();
    now += 365 * 86_400_000;
    expect(await session.fetch(forever)).toBeInstanceOf(CachedResponse);
  });

  it("leaves uncached what a rule or the request says not to cache", async () => {
    const session = track(
      new CachedSession({ cache: new MemoryCache(), expireByUrl: { "127.0.0.1/nocache/*": false } }),
    );
    const ruled = server.url(`/nocache/${++unique}`);
    await (await session.fetch(ruled)).arrayBuffer();
    expect(await session.fetch(ruled)).not.toBeInstanceOf(CachedResponse);
    const asked = server.url(`/asked/${++unique}`);
    await (await session.fetch(asked, { expire: false })).arrayBuffer();
    const again = await session.fetch(asked);
    expect(again).not.toBeInstanceOf(CachedResponse);
    await again.arrayBuffer();
    await expect(session.fetch(asked, { expire: "later" as never })).rejects.toThrow(/init.expire/);
  });
});
