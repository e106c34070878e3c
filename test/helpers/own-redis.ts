/**
 * A redis-server of a describe block's own, for tests only (it registers vitest hooks, so the
 * benchmarks, which share test/helpers/redis.ts, never import it).
 */
import { afterAll, beforeAll } from "vitest";
import { RedisServer } from "./redis.js";

/**
 * A redis-server of the tests' own for the describe block it is called in: started before its
 * tests (with `args`, say `--maxmemory 4mb`), killed after them.
 */
export function useRedisServer(args: readonly string[] = []): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await RedisServer.start(undefined, args);
  });
  afterAll(async () => {
    await server?.kill();
  });
  return () => {
    if (server === undefined) throw new Error("the redis-server of this block has not started");
    return server;
  };
}
