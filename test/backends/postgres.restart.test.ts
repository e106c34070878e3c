/**
 * A real PostgreSQL server killed mid-run and started again: a private server on its own port (the
 * shared one on 5432 stays up for the other tests). Calls fail within the deadline while it is
 * down, nothing crashes, a bulk write cut off by the kill leaves nothing behind, and caching
 * resumes by itself once the server is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnyRepository, CacheError, defineSettings, type Key, PostgresCache } from "../../src/index.js";
import { PrivateServer, privateServerUnavailable } from "../helpers/postgres-server.js";

const skip = privateServerUnavailable();
if (skip && process.env.CI) throw new Error(`CI must run the PostgreSQL restart tests: ${skip}`);
if (skip) console.warn(`[postgres restart] skipping: ${skip}`);

describe.skipIf(skip !== undefined)("postgres killed and restarted", () => {
  let server: PrivateServer;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUncaught);
    server = await PrivateServer.create();
  }, 120_000);

  afterAll(async () => {
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUncaught);
    await server?.remove();
  }, 60_000);

  it("fails fast while the server is dead and resumes when it is back", { timeout: 120_000 }, async () => {
    const errors: Error[] = [];
    const cache = PostgresCache.connect(server.url, { schema: "restart", onError: (error) => errors.push(error) });
    const repo = cache.createRepository(
      defineSettings({ name: "tracks", fields: ["id"], getKey: () => [null] }),
    ) as AnyRepository;
    await cache.connect();
    try {
      const keys: Key[] = Array.from({ length: 100 }, (_, i) => ["GET", `k${i}`]);
      expect(await repo.saveResponses(keys.map((key, i) => [key, `payload ${i}`] as const))).toBe(100);
      await Promise.all(keys.slice(0, 10).map((key) => repo.getResponse(key))); // a few pooled connections

      // A bulk write that the kill cuts off.
      const big = Array.from({ length: 30_000 }, (_, i) => [["GET", `bulk${i}`], "y".repeat(300)] as const);
      const writing = repo.saveResponses(big).then(
        () => undefined,
        (error: unknown) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      await server.kill();
      expect(await writing).toBeInstanceOf(CacheError);

      // Down: every call rejects with a CacheError within the deadline.
      for (const call of [
        () => repo.getResponse(keys[0] as Key),
        () => repo.saveResponse([["GET", "while-down"], "x"]),
        () => repo.count(),
        () => repo.getResponses(keys),
      ]) {
        const start = performance.now();
        await expect(call()).rejects.toBeInstanceOf(CacheError);
        expect(performance.now() - start).toBeLessThan(3 * cache.timeout);
      }
      expect(errors.length).toBeGreaterThan(0); // the idle connections that died were reported

      await server.start();
      // Back: the same cache works with no action taken, and the store is as it was before the kill.
      expect(await repo.count()).toBe(100);
      expect(await repo.getResponse(keys[42] as Key)).toBe("payload 42");
      expect(await repo.getResponse(["GET", "bulk0"])).toBeUndefined();
      expect(await repo.saveResponse([["GET", "after"], "after"])).toBe(true);
      expect(await repo.getResponses([["GET", "after"]])).toEqual(["after"]);
      expect(uncaught).toEqual([]);
    } finally {
      await cache.close();
    }
  });
});
