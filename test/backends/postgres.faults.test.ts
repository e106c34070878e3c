/**
 * The PostgreSQL backend against servers that misbehave, over real sockets: a listener that never
 * answers, and a proxy in front of the test server that is silenced (a hung server) or cut (a
 * server gone) mid-run and then restored.
 */
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  CacheError,
  CacheTimeoutError,
  defineSettings,
  type Key,
  PostgresCache,
} from "../../src/index.js";
import { SilentServer, TcpProxy } from "../helpers/net.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, testSchema } from "../helpers/postgres.js";

const skip = await postgresUnavailable();
if (skip) console.warn(`[postgres faults] skipping: ${skip}`);

const target = new URL(POSTGRES_URL);
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

function settings(name = "tracks") {
  return defineSettings({ name, fields: ["id"], getKey: () => [null] });
}

/** How long a promise takes to settle, and how. */
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; error: unknown; value: T | undefined }> {
  const start = performance.now();
  try {
    const value = await work();
    return { ms: performance.now() - start, error: undefined, value };
  } catch (error) {
    return { ms: performance.now() - start, error, value: undefined };
  }
}

/** Every kind of repository call, each run once. */
function everyCall(repo: AnyRepository): Record<string, () => Promise<unknown>> {
  return {
    getResponse: () => repo.getResponse(["GET", "k1"]),
    getEntry: () => repo.getEntry(["GET", "k1"]),
    getResponses: () =>
      repo.getResponses([
        ["GET", "k1"],
        ["GET", "k2"],
      ]),
    contains: () => repo.contains(["GET", "k1"]),
    count: () => repo.count(),
    countLive: () => repo.count(false),
    saveResponse: () => repo.saveResponse([["GET", "new"], "new"]),
    saveResponses: () =>
      repo.saveResponses([
        [["GET", "n1"], "1"],
        [["GET", "n2"], "2"],
      ]),
    deleteResponse: () => repo.deleteResponse(["GET", "k1"]),
    deleteResponses: () =>
      repo.deleteResponses([
        ["GET", "k1"],
        ["GET", "k2"],
      ]),
    clearExpired: () => repo.clear(true),
    iterate: async () => {
      for await (const _ of repo) {
        // draining
      }
    },
  };
}

describe.skipIf(skip !== undefined)("postgres faults", () => {
  const schemas: string[] = [];
  const caches: PostgresCache[] = [];

  beforeAll(() => {
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUncaught);
  });

  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
    for (const schema of schemas.splice(0)) await dropSchema(schema);
    expect(uncaught).toEqual([]);
  });

  afterAll(() => {
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUncaught);
  });

  function cacheAt(port: number, options: ConstructorParameters<typeof PostgresCache>[0] = {}): PostgresCache {
    const schema = testSchema("faults");
    schemas.push(schema);
    const url = new URL(POSTGRES_URL);
    url.hostname = "127.0.0.1";
    url.port = String(port);
    const cache = PostgresCache.connect(url, { schema, ...options });
    caches.push(cache);
    return cache;
  }

  it("gives up on a server that accepts connections and never answers, within the default deadline", async () => {
    const silent = await new SilentServer().start();
    try {
      const cache = cacheAt(silent.port);
      expect(cache.timeout).toBe(1_000);
      cache.createRepository(settings());
      const { ms, error } = await timed(() => cache.connect());
      expect(error).toBeInstanceOf(CacheError);
      expect((error as Error).message).toMatch(/PostgreSQL|timeout/i);
      expect(silent.connections).toBeGreaterThan(0); // it did reach the listener
      expect(ms).toBeLessThan(3 * 1_000);
      expect(cache.connected).toBe(false);
    } finally {
      await silent.stop();
    }
  });

  it("refuses a closed port at once with a CacheError", async () => {
    const silent = await new SilentServer().start();
    const port = silent.port;
    await silent.stop(); // nothing listens there now
    const cache = cacheAt(port, { timeout: 500 });
    const { ms, error } = await timed(() => cache.connect());
    expect(error).toBeInstanceOf(CacheError);
    expect((error as Error).message).toMatch(/ECONNREFUSED|connect/);
    expect(ms).toBeLessThan(1_500);
  });

  describe("through a proxy that fails mid-run", () => {
    let proxy: TcpProxy;

    beforeAll(async () => {
      proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    });

    afterEach(async () => {
      await proxy.restore();
    });

    afterAll(async () => {
      await proxy.stop();
    });

    async function seeded(timeout: number, onError?: (error: Error) => void) {
      const cache = cacheAt(proxy.port, { timeout, ...(onError ? { onError } : {}) });
      const repo = cache.createRepository(settings()) as AnyRepository;
      await cache.connect();
      const keys: Key[] = Array.from({ length: 20 }, (_, i) => ["GET", `k${i}`]);
      expect(await repo.saveResponses(keys.map((key, i) => [key, `payload ${i}`] as const))).toBe(20);
      // Open a few pooled connections, so that idle ones are there when the server fails.
      await Promise.all(keys.map((key) => repo.getResponse(key)));
      return { cache, repo, keys };
    }

    it("rejects every kind of call within the deadline while the server hangs, then resumes by itself", async () => {
      const timeout = 500;
      const { repo, keys } = await seeded(timeout);
      proxy.silence();

      for (const [name, call] of Object.entries(everyCall(repo))) {
        const { ms, error } = await timed(call);
        expect(error, name).toBeInstanceOf(CacheError);
        // Typed, so that a caller can tell a hung server from a refused one and skip its next call.
        expect(error, name).toBeInstanceOf(CacheTimeoutError);
        expect((error as CacheTimeoutError).timeout, name).toBe(timeout);
        expect((error as Error).message, name).toMatch(/did not answer within 500 ms|timeout/);
        expect(ms, name).toBeLessThan(3 * timeout);
      }

      // A burst of calls at once, more than the pool holds: all fail by the deadline, none hangs.
      const burst = await timed(() =>
        Promise.allSettled(Array.from({ length: 30 }, (_, i) => repo.getResponse(["GET", `k${i % 20}`]))),
      );
      const outcomes = burst.value ?? [];
      expect(outcomes).toHaveLength(30);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe("rejected");
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(CacheTimeoutError);
      }
      expect(burst.ms).toBeLessThan(3 * timeout);

      await proxy.restore();
      // No user action: the next calls reconnect. Nothing was written while the server hung.
      expect(await repo.count()).toBe(20);
      expect(await repo.getResponse(keys[3] as Key)).toBe("payload 3");
      expect(await repo.saveResponse([["GET", "after"], "after"])).toBe(true);
      expect(await repo.getResponses([["GET", "after"], keys[0] as Key])).toEqual(["after", "payload 0"]);
      expect(await repo.count()).toBe(21);
    });

    it("rejects calls while the server is gone, reports dropped idle connections, and resumes when it is back", async () => {
      const timeout = 500;
      const reported: Error[] = [];
      const { repo, keys } = await seeded(timeout, (error) => reported.push(error));
      await proxy.cut();
      // Idle pooled connections see the reset: reported, not thrown.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(reported.length).toBeGreaterThan(0);

      for (const [name, call] of Object.entries(everyCall(repo))) {
        const { ms, error } = await timed(call);
        expect(error, name).toBeInstanceOf(CacheError);
        expect(ms, name).toBeLessThan(3 * timeout);
      }

      await proxy.restore();
      expect(await repo.count()).toBe(20);
      expect(await repo.getResponse(keys[19] as Key)).toBe("payload 19");
      expect(await repo.deleteResponse(keys[19] as Key)).toBe(true);
      expect(await repo.count()).toBe(19);
    });

    it("survives the server going away in the middle of a bulk write, which is then all or nothing", async () => {
      const timeout = 2_000;
      const { repo } = await seeded(timeout);
      // Large enough that the write is still on the wire when the proxy is cut.
      const big = Array.from({ length: 20_000 }, (_, i) => [["GET", `bulk${i}`], "x".repeat(200)] as const);
      const writing = timed(() => repo.saveResponses(big));
      await new Promise((resolve) => setTimeout(resolve, 30));
      await proxy.cut();
      const { ms, error } = await writing;
      expect(error).toBeInstanceOf(CacheError);
      expect(ms).toBeLessThan(3 * timeout);
      await proxy.restore();
      // The transaction never committed: not one entry of the batch is there.
      expect(await repo.count()).toBe(20);
      expect(await repo.getResponse(["GET", "bulk0"])).toBeUndefined();
    });

    it("succeeds on the first call after the server comes back, though its idle connections died", async () => {
      const { repo, keys } = await seeded(1_000);
      await proxy.cut();
      await proxy.restore(); // at once: the pool has not noticed that its connections are gone
      expect(await repo.getResponse(keys[5] as Key)).toBe("payload 5");
      expect(await repo.count()).toBe(20);
      expect(await repo.saveResponse([["GET", "again"], "again"])).toBe(true);
      expect(await repo.getResponses([["GET", "again"]])).toEqual(["again"]);
    });
  });

  describe("with the application's own pool", () => {
    it("uses it, and leaves it open and as it was when the cache closes", async () => {
      const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });
      const appListener = () => {};
      pool.on("error", appListener);
      try {
        const schema = testSchema("pool");
        schemas.push(schema);
        const cache = new PostgresCache({ pool, schema });
        expect(cache.timeout).toBe(1_000);
        const repo = cache.createRepository(settings()) as AnyRepository;
        await cache.connect();
        expect(cache.pool).toBe(pool);
        expect(pool.listenerCount("error")).toBe(2);
        await repo.saveResponse([["GET", "a"], "via the app's pool"]);
        await cache.close();
        expect(pool.listenerCount("error")).toBe(1);
        expect(pool.ended).toBe(false);
        const { rows } = await pool.query(`SELECT "payload" FROM "${schema}"."tracks"`);
        expect(rows).toEqual([{ payload: "via the app's pool" }]);
      } finally {
        await pool.end();
      }
    });

    it("refuses a pool and a url together, and a pool that is not one", () => {
      const pool = new pg.Pool({ connectionString: POSTGRES_URL });
      expect(() => new PostgresCache({ pool, url: POSTGRES_URL })).toThrow(/pool or a url/);
      expect(() => new PostgresCache({ pool: {} as never })).toThrow(TypeError);
      return pool.end();
    });
  });
});
