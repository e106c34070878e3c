import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeEntry } from "../../src/cache/backends/redis/codec.js";
import type { RedisRepository } from "../../src/cache/backends/redis/repository.js";
import { type AnyRepository, type CacheEntry, defineSettings, type Key, keyId, RedisCache } from "../../src/index.js";
import { BOUND_WORKERS, boundSettings, MAX_BYTES, MAX_ENTRIES } from "../conformance/bounds-plan.js";
import { useRedisServer } from "../helpers/own-redis.js";
import { keysUnder, pingRedis, REDIS_URL, redisServerInstalled, removePrefix, uniquePrefix } from "../helpers/redis.js";
import { startWorker } from "../helpers/worker.js";

const unavailable = await pingRedis();
if (unavailable !== undefined) console.warn(`[redis repair] skipping: no Redis at ${REDIS_URL} (${unavailable})`);

const settings = () => defineSettings({ name: "pages", fields: ["id"], getKey: () => [null] });
const key = (id: string): Key => ["GET", id];
const sizeOf = (entry: CacheEntry) => encodeEntry(entry).byteLength + Buffer.byteLength(keyId(entry.key));
/** The bookkeeping keys of a bounded repository: index, drop times, sizes, last uses, totals. */
const BOOKS = ["x", "g", "s", "a", "u"];

async function actualUsage(repo: AnyRepository): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  for await (const entry of repo.entries()) {
    entries++;
    bytes += sizeOf(entry);
  }
  return { entries, bytes };
}

/** What the books say, read straight from Redis: index, sizes, uses, and the totals hash. */
async function books(probe: Redis, repo: RedisRepository) {
  const base = repo.keys.base;
  const sizes = await probe.hvals(`${base}s`);
  return {
    indexed: await probe.zcard(`${base}x`),
    sized: sizes.length,
    used: await probe.zcard(`${base}a`),
    sizeTotal: sizes.reduce((sum, size) => sum + Number(size), 0),
    totals: await probe.hgetall(`${base}u`),
  };
}

/** Entry keys that exist for a repository (a SCAN: tests only). */
async function entryKeys(probe: Redis, repo: RedisRepository): Promise<string[]> {
  const all = await keysUnder(probe, repo.keys.base.slice(0, -1));
  return all.filter((name) => name.startsWith(repo.keys.entry("")));
}

/** Asserts that the books equal the entries that exist, and hold the bounds. */
async function expectExactBooks(
  cache: RedisCache,
  repo: RedisRepository,
  probe: Redis,
  bounds: { entries: number; bytes: number },
) {
  const usage = await cache.usage();
  const actual = await actualUsage(repo as unknown as AnyRepository);
  expect(usage).toEqual(actual);
  expect(await repo.count()).toBe(actual.entries);
  expect(actual.entries).toBe((await entryKeys(probe, repo)).length);
  expect(usage.entries).toBeLessThanOrEqual(bounds.entries);
  expect(usage.bytes).toBeLessThanOrEqual(bounds.bytes);
  const kept = await books(probe, repo);
  expect(kept).toMatchObject({ indexed: actual.entries, sized: actual.entries, used: actual.entries });
  expect(kept.sizeTotal).toBe(actual.bytes);
  expect(kept.totals).toMatchObject({ bytes: String(actual.bytes), n: String(actual.entries) });
  expect(kept.totals.token).toBeUndefined();
}

describe.skipIf(unavailable !== undefined)("Redis bounds: books that Redis evicted (DEL by hand)", () => {
  let prefix = uniquePrefix();
  const open: RedisCache[] = [];
  const probe = new Redis(REDIS_URL, { lazyConnect: true });

  /** The cache's clock: a millisecond per call, so that entries written in turn have distinct cached times. */
  let clock = Date.now() - 3_600_000;
  const now = () => ++clock;

  async function bounded(options: Record<string, unknown>): Promise<[RedisCache, RedisRepository]> {
    const cache = RedisCache.connect(REDIS_URL, { prefix, now, ...options });
    open.push(cache);
    const repo = cache.createRepository(settings()) as unknown as RedisRepository;
    await cache.connect();
    return [cache, repo];
  }

  const deleteBooks = (repo: RedisRepository, which: readonly string[]) =>
    probe.del(...which.map((name) => repo.keys.base + name));

  beforeAll(async () => {
    await probe.connect();
  });

  afterEach(async () => {
    for (const cache of open.splice(0)) await cache.close();
    await removePrefix(prefix);
    prefix = uniquePrefix();
  });

  afterAll(() => {
    probe.disconnect();
  });

  it.each([[["x"]], [["g"]], [["s"]], [["a"]], [["u"]], [["s", "a"]], [["x", "u"]], [BOOKS]])(
    "rebuilds the books after Redis evicted %j, and evicts down to the bound what the lost books named",
    async (which) => {
      const [cache, repo] = await bounded({ maxEntries: 20, maxBytes: 1_000_000 });
      const pages = repo as unknown as AnyRepository;
      for (let i = 0; i < 15; i++) await pages.saveResponse([key(`old${i}`), "o".repeat(100 + i)]);
      await deleteBooks(repo, which);
      for (let i = 0; i < 10; i++) await pages.saveResponse([key(`new${i}`), "n".repeat(200 + i)]);
      await expectExactBooks(cache, repo, probe, { entries: 20, bytes: 1_000_000 });
      // 25 written, bound 20: the five oldest (named only by the lost books) were evicted.
      for (let i = 0; i < 5; i++) expect(await pages.contains(key(`old${i}`)), `old${i}`).toBe(false);
      for (let i = 5; i < 15; i++) expect(await pages.contains(key(`old${i}`)), `old${i}`).toBe(true);
      for (let i = 0; i < 10; i++) expect(await pages.contains(key(`new${i}`)), `new${i}`).toBe(true);
    },
  );

  it("holds maxBytes with the sizes of the entries the lost books named", async () => {
    const [cache, repo] = await bounded({ maxBytes: 6_000 });
    const pages = repo as unknown as AnyRepository;
    for (let i = 0; i < 10; i++) await pages.saveResponse([key(`old${i}`), "o".repeat(500)]);
    await deleteBooks(repo, BOOKS);
    for (let i = 0; i < 5; i++) await pages.saveResponse([key(`new${i}`), "n".repeat(500)]);
    await expectExactBooks(cache, repo, probe, { entries: Number.POSITIVE_INFINITY, bytes: 6_000 });
    expect(await pages.contains(key("old0"))).toBe(false);
    expect(await pages.contains(key("new4"))).toBe(true);
  });

  it("is found by a process that never wrote: a write over an entry the books do not know", async () => {
    const [, first] = await bounded({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) await (first as unknown as AnyRepository).saveResponse([key(`k${i}`), "p"]);
    await deleteBooks(first, BOOKS);
    const [cache, repo] = await bounded({ maxEntries: 10 });
    await (repo as unknown as AnyRepository).saveResponse([key("k3"), "again"]);
    await expectExactBooks(cache, repo, probe, { entries: 10, bytes: Number.POSITIVE_INFINITY });
    expect(await repo.count()).toBe(10);
  });

  it("is found by a process that never wrote: a read of an entry the books do not know", async () => {
    const [, first] = await bounded({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) await (first as unknown as AnyRepository).saveResponse([key(`k${i}`), "p"]);
    await deleteBooks(first, BOOKS);
    const [cache, repo] = await bounded({ maxEntries: 10 });
    const pages = repo as unknown as AnyRepository;
    expect(await pages.getResponse(key("k5"))).toBe("p");
    await pages.saveResponse([key("fresh"), "p"]);
    await expectExactBooks(cache, repo, probe, { entries: 10, bytes: Number.POSITIVE_INFINITY });
    // k5 was read after the rest were written: it is not the one evicted for "fresh".
    expect(await pages.contains(key("k5"))).toBe(true);
    expect(await pages.contains(key("fresh"))).toBe(true);
  });

  it("takes over a rebuild whose process died, once its lease has run out", async () => {
    const [cache, repo] = await bounded({ maxEntries: 10 });
    const pages = repo as unknown as AnyRepository;
    for (let i = 0; i < 12; i++) await pages.saveResponse([key(`k${i}`), "p"]);
    // What a process leaves that started a rebuild and died before its first step.
    await deleteBooks(repo, ["s", "a", "u"]);
    await probe.hset(`${repo.keys.base}u`, { bytes: 0, n: 0, token: "dead:1", lease: 1 });
    await pages.saveResponse([key("next"), "p"]);
    await expectExactBooks(cache, repo, probe, { entries: 10, bytes: Number.POSITIVE_INFINITY });
    expect(await pages.contains(key("next"))).toBe(true);
  });

  it("does not start a second rebuild, nor evict, while one holds its lease", async () => {
    const [, repo] = await bounded({ maxEntries: 5 });
    const pages = repo as unknown as AnyRepository;
    for (let i = 0; i < 5; i++) await pages.saveResponse([key(`k${i}`), "p"]);
    await deleteBooks(repo, ["s", "a", "u"]);
    const lease = Date.now() + 60_000;
    await probe.hset(`${repo.keys.base}u`, { bytes: 0, n: 0, token: "other:1", lease });
    await pages.saveResponse([key("next"), "p"]);
    expect(await probe.hget(`${repo.keys.base}u`, "token")).toBe("other:1");
    // The books hold what was written since; nothing was evicted (6 entries, bound 5).
    expect(await books(probe, repo)).toMatchObject({ sized: 1, used: 1, totals: { n: "1" } });
    expect((await entryKeys(probe, repo)).length).toBe(6);
  });

  it("rebuilds at most once a pause for entries that a process without bounds wrote", async () => {
    const [cache, repo] = await bounded({ maxEntries: 100 });
    const [, plain] = await bounded({});
    const pages = repo as unknown as AnyRepository;
    const others = plain as unknown as AnyRepository;
    await pages.saveResponse([key("mine"), "p"]);
    for (let i = 0; i < 3; i++) await others.saveResponse([key(`plain${i}`), "p"]);
    // The bounded write meets an entry its books do not know: a rebuild takes the others in.
    await pages.saveResponse([key("plain0"), "mine now"]);
    await expectExactBooks(cache, repo, probe, { entries: 100, bytes: Number.POSITIVE_INFINITY });
    const rebuilt = await probe.hget(`${repo.keys.base}u`, "rebuilt");
    expect(rebuilt).not.toBeNull();
    await others.saveResponse([key("plain9"), "p"]);
    await pages.saveResponse([key("plain9"), "mine too"]);
    expect(await probe.hget(`${repo.keys.base}u`, "rebuilt")).toBe(rebuilt);
    expect(await books(probe, repo)).toMatchObject({ indexed: 5, sized: 5, used: 5, totals: { n: "5" } });
  });

  it(`ends with exact books when the books are deleted while ${BOUND_WORKERS} processes write`, {
    timeout: 120_000,
  }, async () => {
    const location = {
      value: REDIS_URL,
      options: { prefix, timeout: 10_000, maxEntries: MAX_ENTRIES, maxBytes: MAX_BYTES },
    };
    const cache = RedisCache.connect(REDIS_URL, location.options);
    open.push(cache);
    const repo = cache.createRepository(boundSettings()) as unknown as RedisRepository;
    await cache.connect();
    const pages = repo as unknown as AnyRepository;
    await pages.saveResponse([key("test"), "p"]);
    const startAt = Date.now() + 4_000;
    const workers = Array.from(
      { length: BOUND_WORKERS },
      (_, worker) => startWorker("bounds-worker.ts", [JSON.stringify(location), String(worker), String(startAt)]).done,
    );
    let done = false;
    const all = Promise.all(workers).finally(() => {
      done = true;
    });
    let deletions = 0;
    let turn = 0;
    while (!done) {
      if (Date.now() > startAt) {
        // Now all the books, now some of them.
        const which = turn++ % 3 === 0 ? BOOKS : [BOOKS[turn % BOOKS.length] as string];
        if ((await deleteBooks(repo, which)) > 0) deletions++;
      }
      await sleep(15);
    }
    const results = await all;
    for (const [worker, result] of results.entries()) {
      expect(result.stderr, `worker ${worker}`).toBe("");
      expect(result.code, `worker ${worker}: ${result.stdout}`).toBe(0);
    }
    expect(deletions).toBeGreaterThan(3);
    // The books may have been deleted after the workers' last writes: one more write finds it.
    await pages.saveResponse([key("last"), "p"]);
    await expectExactBooks(cache, repo, probe, { entries: MAX_ENTRIES, bytes: MAX_BYTES });
    expect(await pages.contains(key("last"))).toBe(true);
  });
});

const hasServer = await redisServerInstalled();
if (!hasServer) console.warn("[redis repair] skipping the maxmemory test: redis-server is not installed");

describe.skipIf(!hasServer)("Redis bounds: whole books are not rebuilt", () => {
  const server = useRedisServer();

  it("takes a fresh repository, one written, deleted from and cleared, for whole books: no SCAN", async () => {
    const cache = RedisCache.connect(server().url, { maxEntries: 3, prefix: "fresh" });
    const repo = cache.createRepository(settings()) as unknown as RedisRepository;
    const pages = repo as unknown as AnyRepository;
    await cache.connect();
    const probe = new Redis(server().url);
    try {
      await probe.config("RESETSTAT");
      await pages.saveResponse([key("a"), "p"]);
      await pages.saveResponses([
        [key("b"), "p"],
        [key("c"), "p"],
        [key("d"), "p"],
      ]);
      expect(await pages.getResponse(key("b"))).toBe("p");
      await pages.deleteResponses([key("c")]);
      await pages.saveResponse([key("e"), "p"]);
      await pages.clear();
      await pages.saveResponse([key("f"), "p"]);
      await pages.saveResponse([key("f"), "again"]);
      const stats = await probe.info("commandstats");
      expect(stats).toMatch(/cmdstat_evalsha:calls=\d+/);
      expect(stats).not.toMatch(/cmdstat_scan:/);
      expect(await books(probe, repo)).toMatchObject({ indexed: 1, sized: 1, used: 1, totals: { n: "1" } });
      expect(await cache.usage()).toEqual(await actualUsage(pages));
    } finally {
      probe.disconnect();
      await cache.close();
    }
  });
});

describe.skipIf(!hasServer)("Redis bounds: a server that evicts the books (maxmemory, allkeys-random)", () => {
  const server = useRedisServer(["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-random"]);

  it("keeps counts, bytes and the bound true after Redis evicted books and entries", { timeout: 60_000 }, async () => {
    const cache = RedisCache.connect(server().url, { maxEntries: 1_500, prefix: "rnd" });
    const repo = cache.createRepository(settings()) as unknown as RedisRepository;
    const pages = repo as unknown as AnyRepository;
    await cache.connect();
    const probe = new Redis(server().url);
    try {
      const payload = "z".repeat(2_000);
      let lost = 0;
      for (let batch = 0; batch < 80; batch++) {
        const base = repo.keys.base;
        const before = await probe.exists(...BOOKS.map((name) => base + name));
        await pages.saveResponses(
          Array.from({ length: 50 }, (_, i): [Key, string] => [key(`k${batch * 50 + i}`), payload]),
        );
        if (before < BOOKS.length && batch > 0) lost++;
      }
      const evicted = Number((await probe.info("stats")).match(/evicted_keys:(\d+)/)?.[1]);
      expect(evicted).toBeGreaterThan(0);
      // Room again, so that Redis evicts nothing while the figures are read; one more write finds
      // books Redis evicted since the last one.
      await probe.config("SET", "maxmemory", "0");
      await pages.saveResponse([key("last"), "written"]);
      await expectExactBooks(cache, repo, probe, { entries: 1_500, bytes: Number.POSITIVE_INFINITY });
      expect(await repo.count()).toBeGreaterThan(0);
      expect(await pages.getResponse(key("last"))).toBe("written");
      expect(lost).toBeGreaterThan(0);
      console.log(`[redis repair] allkeys-random: ${evicted} keys evicted, books missing before ${lost} writes`);
    } finally {
      probe.disconnect();
      await cache.close();
    }
  });
});
