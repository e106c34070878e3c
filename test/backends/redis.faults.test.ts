/**
 * The Redis backend when the server fails: killed mid-run, hanging mid-run, never answering, down
 * at start. Real servers and real sockets: a redis-server of our own, a TCP proxy that can go
 * silent, and a TCP listener that never answers.
 */
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  CacheError,
  CacheTimeoutError,
  defineSettings,
  type Key,
  RedisCache,
  type RedisCacheOptions,
} from "../../src/index.js";
import { freePort, SilentServer, TcpProxy } from "../helpers/net.js";
import { RedisServer } from "../helpers/redis.js";

const missing = spawnSync("redis-server", ["--version"]).error;
if (missing !== undefined && process.env.CI)
  throw new Error(`redis-server must be installed in CI: ${missing.message}`);
if (missing !== undefined) console.warn(`[redis faults] skipping: redis-server is not installed (${missing.message})`);

const DEADLINE = 500;
const KEY: Key = ["GET", "a"];

function settings(name = "items") {
  return defineSettings({ name, fields: ["id"], getKey: () => [null] });
}

/** Every public call of a repository, each to be tried against a failing server. */
function everyCall(repo: AnyRepository): [string, () => Promise<unknown>][] {
  return [
    ["getResponse", () => repo.getResponse(KEY)],
    ["getEntry", () => repo.getEntry(KEY)],
    ["getResponses", () => repo.getResponses([KEY, ["GET", "b"]])],
    ["contains", () => repo.contains(KEY)],
    ["count(true)", () => repo.count(true)],
    ["count(false)", () => repo.count(false)],
    ["saveResponse", () => repo.saveResponse([KEY, "again"])],
    [
      "saveResponses",
      () =>
        repo.saveResponses([
          [KEY, "x"],
          [["GET", "b"], "y"],
        ]),
    ],
    ["deleteResponses", () => repo.deleteResponses([KEY])],
    ["clear(true)", () => repo.clear(true)],
    ["clear()", () => repo.clear()],
    [
      "iteration",
      async () => {
        for await (const _ of repo) {
          // nothing: the first batch fails
        }
      },
    ],
  ];
}

/** How a call failed, and how long it took. */
async function failure(call: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const start = performance.now();
  try {
    await call();
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
  throw new Error("the call succeeded against a failing server");
}

async function expectEveryCallFails(
  repo: AnyRepository,
  deadline: number,
  message?: RegExp,
  type: abstract new (...args: never[]) => Error = CacheError,
): Promise<void> {
  for (const [name, call] of everyCall(repo)) {
    const { error, ms } = await failure(call);
    expect(error, name).toBeInstanceOf(type);
    if (message !== undefined) expect((error as Error).message, name).toMatch(message);
    expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(3 * deadline);
  }
}

/** Retries `call` until it succeeds; resolves to how long that took. */
async function recovers(call: () => Promise<unknown>, within = 10_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    try {
      await call();
      return performance.now() - start;
    } catch (error) {
      expect(error).toBeInstanceOf(CacheError);
      if (performance.now() - start > within) throw error;
      await sleep(50);
    }
  }
}

describe.skipIf(missing !== undefined)("redis backend: faults", () => {
  const caches: RedisCache[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  async function open(options: RedisCacheOptions, name = "items") {
    const cache = new RedisCache({ timeout: DEADLINE, ...options });
    caches.push(cache);
    const repo = cache.createRepository(settings(name));
    await cache.connect();
    return { cache, repo };
  }

  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  describe("a server killed mid-run", () => {
    let server: RedisServer;

    beforeAll(async () => {
      server = await RedisServer.start();
    });

    afterAll(async () => {
      await server.kill();
    });

    it("fails every call with a CacheError within the deadline, then works again once the server is back", async () => {
      const errors: Error[] = [];
      const { repo } = await open({ url: server.url, onError: (error) => errors.push(error) });
      await repo.saveResponse([KEY, "before"]);
      expect(await repo.getResponse(KEY)).toBe("before");

      await server.kill();
      await expectEveryCallFails(repo, DEADLINE, /Redis at redis:\/\/127\.0\.0\.1:\d+ is not connected/);
      // The client tries to reconnect in the background and reports each failure to the hook,
      // instead of crashing the process with an unhandled "error" event.
      await recovers(async () => {
        if (!errors.some((error) => /ECONNREFUSED/.test(error.message))) throw new CacheError("no error yet");
      }, 3_000);

      await server.start();
      const took = await recovers(() => repo.count());
      expect(took).toBeLessThan(5_000);
      // The new server kept nothing (no persistence); the cache works on it as on any.
      expect(await repo.getResponse(KEY)).toBeUndefined();
      expect(await repo.saveResponse([KEY, "after"])).toBe(true);
      expect(await repo.getResponse(KEY)).toBe("after");
      expect(await repo.count()).toBe(1);
    });

    it("keeps the default deadline of about a second", async () => {
      const cache = new RedisCache({ url: server.url });
      caches.push(cache);
      expect(cache.timeout).toBe(1_000);
      const repo = cache.createRepository(settings());
      await cache.connect();
      await server.kill();
      const { error, ms } = await failure(() => repo.getResponse(KEY));
      expect(error).toBeInstanceOf(CacheError);
      expect(ms).toBeLessThan(3_000);
      await server.start();
      await recovers(() => repo.getResponse(KEY));
    });

    it("fails connect() with a CacheError while the server is down, and connects once it is up", async () => {
      await server.kill();
      const cache = new RedisCache({ url: server.url, timeout: DEADLINE });
      caches.push(cache);
      const repo = cache.createRepository(settings());
      const { error, ms } = await failure(() => cache.connect());
      expect(error).toBeInstanceOf(CacheError);
      expect((error as Error).message).toMatch(/could not connect to Redis at redis:\/\/127\.0\.0\.1:\d+/);
      expect(ms).toBeLessThan(3 * DEADLINE);
      expect(cache.connected).toBe(false);

      await server.start();
      await cache.connect();
      expect(await repo.saveResponse([KEY, "up"])).toBe(true);
      expect(await repo.getResponse(KEY)).toBe("up");
    });
  });

  describe("a server that hangs mid-run", () => {
    let server: RedisServer;

    beforeAll(async () => {
      server = await RedisServer.start();
    });

    afterAll(async () => {
      await server.kill();
    });

    it("fails every call with a CacheError within the deadline, then works again once it answers", async () => {
      const proxy = await new TcpProxy("127.0.0.1", server.port).start();
      cleanups.push(() => proxy.stop());
      const { repo } = await open({ url: `redis://127.0.0.1:${proxy.port}` });
      await repo.saveResponse([KEY, "before"]);

      proxy.freeze();
      // Each call waits for the deadline, until the client drops the silent connection (after
      // five deadlines' worth of silence) and the calls fail at once while it reconnects.
      await expectEveryCallFails(repo, DEADLINE, /did not answer within 500 ms|is not connected/);

      await proxy.restore();
      await recovers(() => repo.getResponse(KEY));
      expect(await repo.saveResponse([KEY, "after"])).toBe(true);
      expect(await repo.getResponse(KEY)).toBe("after");
    });

    it("bounds every call with the deadline even on a client of the user's with ioredis's defaults", async () => {
      const proxy = await new TcpProxy("127.0.0.1", server.port).start();
      cleanups.push(() => proxy.stop());
      // ioredis's defaults: an offline queue, no command timeout, 20 retries per request.
      const client = new Redis({ host: "127.0.0.1", port: proxy.port, lazyConnect: true });
      client.on("error", () => {});
      cleanups.push(() => client.disconnect());
      const { repo } = await open({ client });
      await repo.saveResponse([KEY, "before"]);

      proxy.freeze();
      // Typed, so that a caller can tell a hung server from a refused one and skip its next call.
      await expectEveryCallFails(repo, DEADLINE, /did not answer within 500 ms/, CacheTimeoutError);
      await proxy.restore();
      // Writes that missed the deadline were queued by this client and may still run now.
      await recovers(() => repo.count());
      expect(await repo.saveResponse([KEY, "after"])).toBe(true);
      expect(await repo.getResponse(KEY)).toBe("after");
    });
  });

  describe("a listener that accepts connections and never answers", () => {
    it("fails connect() with a CacheError within the deadline, on a client of its own", async () => {
      const silent = await new SilentServer().start();
      cleanups.push(() => silent.stop());
      const cache = new RedisCache({ url: `redis://127.0.0.1:${silent.port}`, timeout: DEADLINE });
      caches.push(cache);
      const repo = cache.createRepository(settings());
      const { error, ms } = await failure(() => cache.connect());
      expect(error).toBeInstanceOf(CacheError);
      expect((error as Error).message).toMatch(/no answer within 500 ms/);
      expect(ms).toBeLessThan(3 * DEADLINE);
      // It did reach the listener, so the deadline (not a refused connection) ended the wait.
      expect(silent.accepted).toBeGreaterThan(0);
      await expect(repo.getResponse(KEY)).rejects.toThrow(CacheError);
    });

    it("fails connect() within the deadline on a client of the user's", async () => {
      const silent = await new SilentServer().start();
      cleanups.push(() => silent.stop());
      const client = new Redis({ host: "127.0.0.1", port: silent.port, lazyConnect: true });
      client.on("error", () => {});
      cleanups.push(() => client.disconnect());
      const cache = new RedisCache({ client, timeout: DEADLINE });
      caches.push(cache);
      const { error, ms } = await failure(() => cache.connect());
      expect(error).toBeInstanceOf(CacheError);
      expect(ms).toBeLessThan(3 * DEADLINE);
      expect(silent.accepted).toBeGreaterThan(0);
    });
  });

  describe("nothing listening at all", () => {
    it("fails connect() at once with a CacheError, with no unhandled error", async () => {
      const port = await freePort();
      const errors: Error[] = [];
      const cache = new RedisCache({
        url: `redis://127.0.0.1:${port}`,
        timeout: DEADLINE,
        onError: (e) => errors.push(e),
      });
      caches.push(cache);
      const { error, ms } = await failure(() => cache.connect());
      expect(error).toBeInstanceOf(CacheError);
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
      expect(ms).toBeLessThan(3 * DEADLINE);
      // No reconnection goes on after the failed connect.
      await sleep(300);
      const seen = errors.length;
      await sleep(600);
      expect(errors.length).toBe(seen);
    });
  });
});
