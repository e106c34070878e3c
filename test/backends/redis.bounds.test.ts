import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { encodeEntry } from "../../src/cache/backends/redis/codec.js";
import { defineSettings, type Key, keyId, RedisCache } from "../../src/index.js";
import { describeBoundsConformance } from "../conformance/bounds.js";
import { useRedisServer } from "../helpers/own-redis.js";
import { pingRedis, REDIS_URL, redisServerInstalled, removePrefix, uniquePrefix } from "../helpers/redis.js";

const unavailable = await pingRedis();
let prefix = uniquePrefix();
const shared = uniquePrefix();

describeBoundsConformance({
  name: "redis",
  skip: unavailable === undefined ? undefined : `no Redis at ${REDIS_URL} (${unavailable})`,
  makeCache: async (options) => RedisCache.connect(REDIS_URL, { ...options, prefix }),
  location: async () => ({ value: REDIS_URL, options: { prefix: shared, timeout: 10_000 } }),
  cleanup: async () => {
    await removePrefix(prefix);
    await removePrefix(shared);
    prefix = uniquePrefix();
  },
  // Each write and its eviction run in one script: Redis runs one script at a time.
  slack: { entries: 0, bytes: 0 },
  perRepository: true,
  retentionByServerClock: true,
  sizeOf: (entry) => encodeEntry(entry).byteLength + Buffer.byteLength(keyId(entry.key)),
});

const hasServer = await redisServerInstalled();
if (!hasServer) console.warn("[redis bounds] skipping the maxmemory test: redis-server is not installed");

describe.skipIf(!hasServer)("Redis: a server that evicts keys by itself (maxmemory, allkeys-lru)", () => {
  const server = useRedisServer(["--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"]);

  it("repairs an index that points at evicted entries, and keeps its counts true", { timeout: 60_000 }, async () => {
    const cache = RedisCache.connect(server().url, { maxEntries: 100_000, prefix: "lru" });
    const repo = cache.createRepository(defineSettings({ name: "pages", fields: ["id"], getKey: () => [null] }));
    await cache.connect();
    const probe = new Redis(server().url);
    try {
      const payload = "z".repeat(2_000);
      for (let batch = 0; batch < 40; batch++) {
        await repo.saveResponses(
          Array.from({ length: 100 }, (_, i): [Key, string] => [["GET", `k${batch * 100 + i}`], payload]),
        );
      }
      const evicted = Number((await probe.info("stats")).match(/evicted_keys:(\d+)/)?.[1]);
      expect(evicted).toBeGreaterThan(0);
      const left = (await probe.keys("lru:*:e:*")).length;
      expect(left).toBeLessThan(4_000);
      const counted = await repo.count();
      // Every entry the index still names exists: the repair dropped those Redis evicted. (Books
      // that Redis evicted are rebuilt: test/backends/redis.repair.test.ts.)
      // A server at its maxmemory may evict on any command, so later figures can only be lower.
      const indexed = await probe.zrange("lru:v1:{cGFnZXM}:x", 0, -1);
      expect(indexed.length).toBeLessThanOrEqual(counted);
      let alive = 0;
      for (const id of indexed) alive += await probe.exists(`lru:v1:{cGFnZXM}:e:${id}`);
      expect(alive).toBeGreaterThanOrEqual(indexed.length * 0.95);
      expect(counted).toBeLessThanOrEqual(left);
      const usage = await cache.usage();
      expect(usage.entries).toBeLessThanOrEqual(counted);
      // From here on the server evicts nothing more: its LRU clock ticks once a second, so every key
      // written in the last second, the next one included, is as likely to go as any other.
      await probe.config("SET", "maxmemory", "0");
      let read = 0;
      for await (const _ of repo.entries()) read++;
      expect(read).toBeLessThanOrEqual(usage.entries);
      if (read === 0) {
        // Only when Redis evicted some of the books themselves (sizes, uses, usage, index, drop
        // times): the next write starts their rebuild (test/backends/redis.repair.test.ts).
        const books = ["s", "a", "u", "x", "g"].map((suffix) => `lru:v1:{cGFnZXM}:${suffix}`);
        expect(await probe.exists(...books)).toBeLessThan(books.length);
      }
      // Writes go on, and the books stay true.
      await repo.saveResponse([["GET", "after"], "written"]);
      expect(await repo.getResponse(["GET", "after"])).toBe("written");
      expect(await repo.count()).toBeGreaterThanOrEqual(1);
      expect(await repo.contains(["GET", "after"])).toBe(true);
      let readAfter = 0;
      for await (const _ of repo.entries()) readAfter++;
      expect(readAfter).toBeGreaterThan(0);
    } finally {
      probe.disconnect();
      await cache.close();
    }
  });
});
