/**
 * Four processes write and read the same keys of one Redis repository at once: nothing is lost,
 * every read is whole, and the counts and the index are exact afterwards.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { defineSettings, RedisCache } from "../../src/index.js";
import { keysUnder, pingRedis, REDIS_URL, removePrefix, uniquePrefix } from "../helpers/redis.js";

const unavailable = await pingRedis();
if (unavailable !== undefined && process.env.CI) {
  throw new Error(`Redis must answer at ${REDIS_URL} in CI: ${unavailable}`);
}
if (unavailable !== undefined) console.warn(`[redis processes] skipping: no Redis at ${REDIS_URL} (${unavailable})`);

const WORKERS = 4;
const ROUNDS = 40;
/** Keys that every worker writes, in each round. */
const SHARED = 200;
/** Keys of its own that each worker writes in each round; one in ten it deletes again. */
const OWN_PER_ROUND = 30;

async function runWorker(
  prefix: string,
  worker: number,
  startAt: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    "node_modules/.bin/tsx",
    [
      "test/fixtures/redis-worker.ts",
      REDIS_URL,
      prefix,
      ...[worker, ROUNDS, SHARED, OWN_PER_ROUND, startAt].map(String),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data) => {
    stdout += data;
  });
  child.stderr.on("data", (data) => {
    stderr += data;
  });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

describe.skipIf(unavailable !== undefined)("redis backend: four processes at once", () => {
  const prefix = uniquePrefix();

  afterAll(async () => {
    await removePrefix(prefix);
  });

  it("loses nothing and counts exactly", { timeout: 60_000 }, async () => {
    // The workers connect first, then all start writing at the same instant.
    const startAt = Date.now() + 5_000;
    const results = await Promise.all(
      Array.from({ length: WORKERS }, (_, worker) => runWorker(prefix, worker, startAt)),
    );
    const spans: [number, number][] = [];
    for (const [worker, result] of results.entries()) {
      expect(result.stderr, `worker ${worker}`).toBe("");
      expect(result.code, `worker ${worker}: ${result.stdout}`).toBe(0);
      const summary = JSON.parse(result.stdout) as {
        reads: number;
        problems: string[];
        started: number;
        finished: number;
      };
      expect(summary.problems).toEqual([]);
      expect(summary.reads).toBe(ROUNDS * (SHARED + OWN_PER_ROUND - OWN_PER_ROUND / 10));
      spans.push([summary.started, summary.finished]);
    }
    // They did run at the same time: each one's span of work overlaps every other's.
    const lastStart = Math.max(...spans.map(([start]) => start));
    const firstEnd = Math.min(...spans.map(([, end]) => end));
    expect(lastStart).toBeLessThan(firstEnd);

    const ownKept = ROUNDS * (OWN_PER_ROUND - OWN_PER_ROUND / 10);
    const expected = SHARED + WORKERS * ownKept;
    const cache = RedisCache.connect(REDIS_URL, { prefix });
    const repo = cache.createRepository(defineSettings({ name: "shared", fields: ["id"], getKey: () => [null] }));
    await cache.connect();
    try {
      expect(await repo.count(true)).toBe(expected);
      expect(await repo.count(false)).toBe(expected);
      const seen = new Map<string, unknown>();
      for await (const [key, value] of repo) seen.set(String(key[1]), value);
      expect(seen.size).toBe(expected);
      for (let i = 0; i < SHARED; i++) expect(seen.get(`s${i}`)).toMatch(new RegExp(`^w\\d:r\\d+:s${i}$`));
      for (let worker = 0; worker < WORKERS; worker++) {
        for (let j = 0; j < ROUNDS * OWN_PER_ROUND; j++) {
          expect(seen.get(`w${worker}-${j}`)).toBe(j % 10 === 0 ? undefined : `own w${worker}-${j}`);
        }
      }
      // The index, the expiry set and the entries agree, key for key.
      const raw = new Redis(REDIS_URL);
      try {
        const keys = await keysUnder(raw, prefix);
        const entries = keys.filter((key) => key.startsWith(`${repo.keys.base}e:`));
        expect(entries).toHaveLength(expected);
        expect(keys).toHaveLength(expected + 2);
        const indexed = await raw.zrange(repo.keys.index, 0, -1);
        expect(new Set(indexed.map((id) => repo.keys.entry(id)))).toEqual(new Set(entries));
        expect(await raw.zcard(repo.keys.gone)).toBe(expected);
      } finally {
        raw.disconnect();
      }
    } finally {
      await cache.close();
    }
  });
});
