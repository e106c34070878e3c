/**
 * What the Redis backend promises beyond the conformance suite: its options, its key layout
 * (escaped names, one cluster slot per repository, no scan of the server), its expiry rule, large
 * batches, clients of the user's, and a clear error when ioredis is missing.
 */
import { execFile } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decodeEntry, decodePayload, encodeEntry, isLive } from "../../src/cache/backends/redis/codec.js";
import { KeyLayout } from "../../src/cache/backends/redis/keys.js";
import {
  type AnyRepository,
  BytesPayloadHandler,
  type CacheEntry,
  CacheError,
  defineSettings,
  type Key,
  keyId,
  RedisCache,
  type RedisCacheOptions,
  type RedisRepository,
  ResponseCache,
} from "../../src/index.js";
import { useRedisServer } from "../helpers/own-redis.js";
import { keysUnder, pingRedis, REDIS_URL, redisServerInstalled, removePrefix, uniquePrefix } from "../helpers/redis.js";
import { crc16, keySlot } from "../helpers/redis-slot.js";

const unavailable = await pingRedis();
if (unavailable !== undefined && process.env.CI) {
  throw new Error(`Redis must answer at ${REDIS_URL} in CI: ${unavailable}`);
}
if (unavailable !== undefined)
  console.warn(`[redis backend] skipping the tests that need ${REDIS_URL}: ${unavailable}`);
const withRedis = describe.skipIf(unavailable !== undefined);

const HOSTILE_NAMES = ["*", "?", "[a]", "a:b", "{x}", "}{", "a*", "a", "a:", ":a", "ünï 😀", "x".repeat(300)];

function settings(name = "items", payloadHandler?: BytesPayloadHandler) {
  return defineSettings({
    name,
    fields: ["id"],
    getKey: () => [null],
    ...(payloadHandler === undefined ? {} : { payloadHandler }),
  });
}

describe("redis backend: options", () => {
  it("is what ResponseCache.create makes of redis:// and rediss:// URLs, unconnected", async () => {
    const cache = await ResponseCache.create("redis://127.0.0.1:6399/2", { expire: 5_000 });
    expect(cache).toBeInstanceOf(RedisCache);
    expect(cache.connected).toBe(false);
    expect(cache.name).toBe("redis://127.0.0.1:6399/2");
    expect((cache as RedisCache).prefix).toBe("requestful");
    expect((cache as RedisCache).timeout).toBe(1_000);
    expect((cache as RedisCache).keepExpired).toBe(86_400_000);
    expect(cache.expire).toBe(5_000);
    expect(await ResponseCache.create(new URL("rediss://cache.example:6380"))).toBeInstanceOf(RedisCache);
  });

  it("keeps passwords out of its name", () => {
    expect(RedisCache.connect("redis://user:s3cret@127.0.0.1:6379/0").name).toBe("redis://user:***@127.0.0.1:6379/0");
  });

  it("refuses bad options with errors that name them", () => {
    expect(() => RedisCache.connect("http://127.0.0.1:6379")).toThrow(/redis:\/\/.*rediss:\/\//);
    expect(() => RedisCache.connect("redis:127.0.0.1")).toThrow(TypeError);
    expect(() => RedisCache.connect("redis:127.0.0.1")).toThrow(/got "redis:127\.0\.0\.1"/);
    expect(() => new RedisCache({ maxSize: 1 } as never)).toThrow(/no option "maxSize".*prefix, timeout/);
    expect(() => RedisCache.connect("not a url")).toThrow(TypeError);
    expect(() => new RedisCache({ prefix: "a{b}" })).toThrow(RangeError);
    expect(() => new RedisCache({ prefix: "" })).toThrow(/prefix/);
    expect(() => new RedisCache({ prefix: 3 as never })).toThrow(TypeError);
    expect(() => new RedisCache({ timeout: 0 })).toThrow(/timeout/);
    expect(() => new RedisCache({ timeout: 1.5 })).toThrow(RangeError);
    expect(() => new RedisCache({ timeout: "1s" as never })).toThrow(TypeError);
    expect(() => new RedisCache({ keepExpired: -1 })).toThrow(/keepExpired/);
    expect(() => new RedisCache({ onError: "log" as never })).toThrow(/onError/);
    expect(() => new RedisCache({ redisOptions: 1 as never })).toThrow(/redisOptions/);
    expect(() => new RedisCache({ url: REDIS_URL, client: new Redis({ lazyConnect: true }) })).toThrow(/not both/);
    expect(() => new RedisCache({ client: {} as never })).toThrow(/ioredis/);
    expect(() => RedisCache.connect(REDIS_URL, { client: new Redis({ lazyConnect: true }) } as never)).toThrow(
      TypeError,
    );
  });

  it("refuses a repository name with a lone surrogate, which UTF-8 cannot keep apart", () => {
    const cache = new RedisCache();
    expect(() => cache.createRepository(settings("bad\uD800"))).toThrow(CacheError);
  });
});

describe("redis backend: key layout", () => {
  it("computes cluster slots as Redis does", () => {
    // The check value of CRC16/XMODEM, and the slots Redis gives (CLUSTER KEYSLOT).
    expect(crc16(Buffer.from("123456789"))).toBe(0x31c3);
    expect(keySlot("123456789")).toBe(12_739);
    expect(keySlot("{user1000}.following")).toBe(keySlot("{user1000}.followers"));
    expect(keySlot("foo{}{bar}")).toBe(keySlot("foo{}{bar}"));
    expect(keySlot("foo{{bar}}zap")).toBe(keySlot("{bar"));
  });

  it("puts every key of a repository in one cluster slot, whatever the name and the entry key", () => {
    const ids = [
      ["GET", "a"],
      ["GET", "{b}"],
      ["GET", "}{"],
      ["POST", 1],
      ["GET", "x".repeat(10_000)],
    ].map((key) => keyId(key as unknown as Key));
    for (const prefix of ["requestful", "app:cache", "*?[x]"]) {
      for (const name of HOSTILE_NAMES) {
        const layout = new KeyLayout(prefix, name);
        const slot = keySlot(layout.index);
        expect(keySlot(layout.gone)).toBe(slot);
        for (const id of ids) expect(keySlot(layout.entry(id))).toBe(slot);
      }
    }
  });

  it("encodes names so that none is a prefix or a pattern of another", () => {
    const bases = HOSTILE_NAMES.map((name) => new KeyLayout("p", name).base);
    expect(new Set(bases).size).toBe(HOSTILE_NAMES.length);
    for (const base of bases) {
      expect(base).toMatch(/^p:v1:\{[A-Za-z0-9_-]+\}:$/);
      for (const other of bases) if (other !== base) expect(other.startsWith(base)).toBe(false);
    }
  });
});

describe("redis backend: stored values", () => {
  const base: CacheEntry = {
    key: ["GET", "k"],
    name: null,
    cachedAt: 1_769_860_800_000,
    expiresAt: 1_770_465_600_000,
    payload: "",
    status: null,
    meta: null,
    headers: null,
    url: null,
  };

  it("round-trips every field, whatever text it holds", () => {
    const entries: CacheEntry[] = [
      base,
      { ...base, payload: "line\nfeeds\n and ünïcødé 😀 and \u0000" },
      { ...base, payload: Uint8Array.from({ length: 256 }, (_, i) => i) },
      { ...base, payload: new Uint8Array(0) },
      {
        ...base,
        name: "naïve ✓ \n 日本語 \u2028",
        status: 203,
        headers: JSON.stringify([
          ["content-type", "application/json; charset=utf-8"],
          ["x-note", "ü,\n"],
        ]),
        url: "https://api.example.com/v1/tracks/é?q=😀",
        payload: "{}",
      },
      { ...base, name: "", status: null, headers: null, url: "" },
      { ...base, cachedAt: 1.5, expiresAt: 2.25 },
      { ...base, cachedAt: -10, expiresAt: 1e21 },
      { ...base, meta: '{"v":1,"y":[["accept-language","fr"]],"n":"é"}' },
      { ...base, status: 200, meta: "{}" },
    ];
    for (const entry of entries) {
      const value = encodeEntry(entry);
      expect(decodeEntry(entry.key, value, entry.cachedAt)).toEqual(entry);
      expect(decodePayload(value, entry.cachedAt)).toEqual(entry.payload);
      expect(isLive(value, entry.cachedAt)).toBe(true);
      expect(isLive(value, entry.expiresAt)).toBe(false);
      expect(decodeEntry(entry.key, value, entry.expiresAt)).toBeUndefined();
      expect(decodePayload(value, entry.expiresAt)).toBeUndefined();
    }
  });

  it("reads values written before entries had metadata, with meta null", () => {
    const value = Buffer.from('T1,9999999999999,["Song",200,"[]","https://x.test/a"]\n{}', "utf8");
    expect(decodeEntry(["GET", "a"], value, 2)).toEqual({
      key: ["GET", "a"],
      name: "Song",
      cachedAt: 1,
      expiresAt: 9999999999999,
      payload: "{}",
      status: 200,
      headers: "[]",
      url: "https://x.test/a",
      meta: null,
    });
  });

  it("refuses values in another format", () => {
    for (const junk of [
      "",
      "not an entry",
      "T\n",
      "T123\n",
      "Tabc,def\n",
      "X1,2\nx",
      "T1,\n",
      "B1,2,{}\n",
      "T1,2,[1]\n",
    ]) {
      expect(() => decodeEntry(["GET"], Buffer.from(junk), 0), junk).toThrow(CacheError);
    }
  });
});

withRedis("redis backend: on a server", () => {
  let prefix = uniquePrefix();
  const caches: RedisCache[] = [];
  let raw: Redis;

  async function open(options: RedisCacheOptions = {}, names = ["items"]) {
    const cache = new RedisCache({ url: REDIS_URL, prefix, ...options });
    caches.push(cache);
    for (const name of names) cache.createRepository(settings(name));
    await cache.connect();
    return { cache, repo: cache.get(names[0] as string) as AnyRepository };
  }

  beforeAll(() => {
    raw = new Redis(REDIS_URL);
  });

  afterAll(() => {
    raw.disconnect();
  });

  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
    await removePrefix(prefix);
    prefix = uniquePrefix();
  });

  it("keeps each repository's keys apart whatever its name holds, and in one slot on the server", async () => {
    const { cache } = await open({}, HOSTILE_NAMES);
    for (const [i, name] of HOSTILE_NAMES.entries()) {
      const repo = cache.get(name) as AnyRepository;
      await repo.saveResponses(Array.from({ length: i + 1 }, (_, j) => [["GET", `k${j}`], name] as const));
    }
    const all = await keysUnder(raw, prefix);
    // i + 1 entries and two sorted sets per repository, and the hash of repository records.
    expect(all).toHaveLength(HOSTILE_NAMES.reduce((sum, _, i) => sum + i + 3, 1));
    for (const [i, name] of HOSTILE_NAMES.entries()) {
      const repo = cache.get(name) as RedisRepository;
      const own = all.filter((key) => key.startsWith(repo.keys.base));
      expect(own).toHaveLength(i + 3);
      expect(new Set(own.map(keySlot)).size).toBe(1);
      // A SCAN for the repository's keys (the escaped base) finds exactly its own keys.
      expect((await keysUnder(raw, repo.keys.base.slice(0, -1))).sort()).toEqual(own.sort());
      expect(await repo.count()).toBe(i + 1);
    }
    expect(await (cache.get("a") as AnyRepository).clear()).toBe(HOSTILE_NAMES.indexOf("a") + 1);
    expect(await (cache.get("a*") as AnyRepository).count()).toBe(HOSTILE_NAMES.indexOf("a*") + 1);
    expect(await (cache.get("a:") as AnyRepository).count()).toBe(HOSTILE_NAMES.indexOf("a:") + 1);
  });

  it("lets Redis expire an entry after its lifetime plus keepExpired, measured from the save", async () => {
    // A clock years before the server's: a Redis TTL taken as an instant of it would be in the past.
    const now = () => Date.UTC(2020, 0, 1);
    const { repo } = await open({ now, expire: { weeks: 2 }, keepExpired: 3_600_000 });
    await repo.saveResponse([["GET", "a"], "a"]);
    const layout = (repo as RedisRepository).keys;
    const ttl = await raw.pttl(layout.entry(keyId(["GET", "a"])));
    const expected = 14 * 86_400_000 + 3_600_000;
    expect(ttl).toBeGreaterThan(expected - 5_000);
    expect(ttl).toBeLessThanOrEqual(expected);
    // The index lives at least as long as the entries it lists.
    expect(await raw.pttl(layout.index)).toBeGreaterThan(ttl - 1_000);
    expect(await raw.pttl(layout.gone)).toBeGreaterThan(ttl - 1_000);
  });

  it("forgets entries that Redis has dropped: counts, reads and the index agree", async () => {
    // The repository's clock stands still, so the entries stay live by it; Redis drops them anyway
    // once their lifetime (150 ms) has passed on the server, with keepExpired 0.
    const now = () => Date.UTC(2026, 0, 1);
    const { repo } = await open({ now, expire: 150, keepExpired: 0 });
    await repo.saveResponses(Array.from({ length: 20 }, (_, i) => [["GET", `short${i}`], "x"] as const));
    const { repo: lasting } = await open({ now, expire: { days: 1 }, keepExpired: 0 }, ["lasting"]);
    await lasting.saveResponse([["GET", "kept"], "kept"]);
    expect(await repo.count(true)).toBe(20);
    await sleep(400);
    expect(await repo.getResponse(["GET", "short0"])).toBeUndefined();
    expect(await repo.count(true)).toBe(0);
    expect(await repo.count(false)).toBe(0);
    expect(await repo.clear()).toBe(0);
    const layout = (repo as RedisRepository).keys;
    expect(await raw.exists(layout.index, layout.gone)).toBe(0);
    expect(await lasting.count(true)).toBe(1);
  });

  it("counts expired entries until clear(true) removes them, by the repository's clock", async () => {
    let clock = Date.UTC(2026, 0, 1);
    const { repo } = await open({ now: () => clock, expire: 1_000 });
    await repo.saveResponses(Array.from({ length: 2_500 }, (_, i) => [["GET", `old${i}`], "old"] as const));
    clock += 600;
    await repo.saveResponses(Array.from({ length: 10 }, (_, i) => [["GET", `new${i}`], "new"] as const));
    clock += 500;
    expect(await repo.count(true)).toBe(2_510);
    expect(await repo.count(false)).toBe(10);
    // 2,500 is more than one step of clear(true) takes.
    expect(await repo.clear(true)).toBe(2_500);
    expect(await repo.count(true)).toBe(10);
    const layout = (repo as RedisRepository).keys;
    expect(await raw.zcard(layout.index)).toBe(10);
    expect(await raw.zcard(layout.gone)).toBe(10);
    expect(await keysUnder(raw, prefix)).toHaveLength(13); // 10 entries, 2 sorted sets, the records hash
  });

  it("reads, iterates, deletes and clears batches larger than one MGET", async () => {
    const { repo } = await open();
    const keys: Key[] = Array.from({ length: 3_500 }, (_, i) => ["GET", i % 2 ? `k${i}` : i]);
    expect(await repo.saveResponses(keys.map((key) => [key, `v${String(key[1])}`] as const))).toBe(3_500);
    const back = await repo.getResponses(keys);
    expect(back).toEqual(keys.map((key) => `v${String(key[1])}`));
    const seen = new Set<string>();
    for await (const [key, value] of repo) {
      expect(value).toBe(`v${String(key[1])}`);
      seen.add(keyId(key));
    }
    expect(seen.size).toBe(3_500);
    expect(await repo.deleteResponses(keys.slice(0, 1_200))).toBe(1_200);
    expect(await repo.clear()).toBe(2_300);
    expect(await keysUnder(raw, prefix)).toEqual([`${prefix}:v1:repositories`]); // the records hash only
  });

  it("stores text as text and bytes as bytes", async () => {
    const cache = new RedisCache({ url: REDIS_URL, prefix });
    caches.push(cache);
    const text = cache.createRepository(settings("text"));
    const bytes = cache.createRepository(settings("bytes", new BytesPayloadHandler()));
    await cache.connect();
    await text.saveResponse([["GET", "t"], "héllo"]);
    await bytes.saveResponse([["GET", "b"], Uint8Array.from([0, 10, 255])]);
    const id = (key: Key) => keyId(key);
    const textValue = await raw.getBuffer(text.keys.entry(id(["GET", "t"])));
    const bytesValue = await raw.getBuffer(bytes.keys.entry(id(["GET", "b"])));
    expect(textValue?.subarray(0, 1).toString()).toBe("T");
    expect(textValue?.subarray(textValue.indexOf(10) + 1).toString("utf8")).toBe("héllo");
    expect(bytesValue?.subarray(0, 1).toString()).toBe("B");
    expect([...(bytesValue?.subarray(bytesValue.indexOf(10) + 1) ?? [])]).toEqual([0, 10, 255]);
    expect((await text.getEntry(["GET", "t"]))?.payload).toBe("héllo");
    expect((await bytes.getEntry(["GET", "b"]))?.payload).toBeInstanceOf(Uint8Array);
  });

  it("refuses a value it did not write with a CacheError, instead of a wrong answer", async () => {
    const { repo } = await open();
    await raw.set((repo as RedisRepository).keys.entry(keyId(["GET", "junk"])), "not an entry");
    await expect(repo.getResponse(["GET", "junk"])).rejects.toThrow(/not in the format/);
    await expect(repo.getResponse(["GET", "junk"])).rejects.toThrow(CacheError);
  });

  it("uses a client of the user's and leaves it open on close", async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true });
    const listeners = client.listenerCount("error");
    const cache = new RedisCache({ client, prefix });
    const repo = cache.createRepository(settings());
    await cache.connect();
    expect(cache.client).toBe(client);
    expect(cache.name).toBe("the given client");
    await repo.saveResponse([["GET", "a"], "a"]);
    expect(client.listenerCount("error")).toBe(listeners + 1);
    await cache.close();
    expect(client.status).toBe("ready");
    expect(client.listenerCount("error")).toBe(listeners);
    expect(await client.ping()).toBe("PONG");
    // A second cache on the same client sees what the first wrote.
    const again = new RedisCache({ client, prefix });
    caches.push(again);
    const same = again.createRepository(settings());
    await again.connect();
    expect(await same.getResponse(["GET", "a"])).toBe("a");
    await again.close();
    expect(client.status).toBe("ready");
    client.disconnect();
  });

  it("quits the client it made when it closes", async () => {
    const { cache } = await open();
    const client = cache.client;
    expect(client.status).toBe("ready");
    await cache.close();
    expect(client.status).toBe("end");
    expect(() => cache.client).toThrow(CacheError);
  });
});

const hasServer = await redisServerInstalled();
if (!hasServer) console.warn("[redis backend] skipping the server-command test: redis-server is not installed");

describe.skipIf(!hasServer)("redis backend: server commands", () => {
  const server = useRedisServer();

  it("never lists the server's keys (no KEYS, no SCAN) and runs bulk calls in one round trip", async () => {
    const cache = new RedisCache({ url: server().url, now: () => Date.UTC(2026, 0, 1), expire: 1_000 });
    const repo = cache.createRepository(settings());
    await cache.connect();
    const admin = new Redis(server().url);
    await admin.config("RESETSTAT");
    const keys: Key[] = Array.from({ length: 500 }, (_, i) => ["GET", `k${i}`]);
    await repo.saveResponses(keys.map((key) => [key, "v"] as const));
    await repo.getResponses(keys);
    await repo.getResponse(keys[0] as Key);
    await repo.contains(keys[1] as Key);
    await repo.count(true);
    await repo.count(false);
    for await (const _ of repo) {
      // every entry
    }
    await repo.deleteResponses(keys.slice(0, 100));
    await repo.clear(true);
    await repo.clear();
    const stats = await admin.info("commandstats");
    await cache.close();
    admin.disconnect();
    const calls = new Map(
      [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, name, count]) => [name, Number(count)]),
    );
    expect(calls.has("keys")).toBe(false);
    expect(calls.has("scan")).toBe(false);
    // One MGET for the 500 reads (and one per iteration batch), one script per bulk write or delete.
    expect(calls.get("mget")).toBeLessThanOrEqual(4);
    expect(calls.get("evalsha")).toBeLessThanOrEqual(8);
    // Single reads are one GET each (getResponse, contains); nothing reads key by key.
    expect(calls.get("get")).toBe(2);
    // A new server knows no script: each is sent in full once (EVAL), then by its hash (EVALSHA).
    expect(calls.get("eval")).toBeGreaterThanOrEqual(1);
    expect(calls.get("eval")).toBeLessThanOrEqual(4);
  });
});

describe("redis backend: without ioredis", () => {
  it("loads the library; create() rejects, and connect() fails, with a CacheError that says what to install", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--import", "./test/fixtures/redis-no-driver-hook.mjs", "test/fixtures/redis-no-driver.ts"],
      { timeout: 20_000 },
    );
    const hint = {
      cacheError: true,
      missingDriver: "ioredis",
      message: 'the Redis backend needs the "ioredis" package, which is not installed: npm install ioredis',
    };
    expect(JSON.parse(stdout)).toEqual({
      loaded: true,
      createError: hint,
      connectError: hint,
      sessionUrl: hint,
      sessionCache: hint,
    });
  });
});
