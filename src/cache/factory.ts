import { CacheError } from "../errors.js";
import type { CacheOptions, ResponseCache } from "./cache.js";

/**
 * Maps a path or URL to a backend, loading the backend only when it is used. A single-letter
 * "scheme" is a Windows drive letter, so `C:\cache` is a path.
 */
export async function createCache(value: string | URL, options: CacheOptions = {}): Promise<ResponseCache> {
  const text = value instanceof URL ? value.href : value;
  if (typeof text !== "string" || text.length === 0) {
    throw new TypeError(`ResponseCache.create takes a path or a URL, got ${JSON.stringify(value)}`);
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(text)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
    case "sqlite":
    case "file": {
      const { SQLiteCache } = await import("./backends/sqlite/cache.js");
      return SQLiteCache.connect(text, options);
    }
    case "memory": {
      const { MemoryCache } = await import("./backends/memory/cache.js");
      return new MemoryCache(options);
    }
    case "postgres":
    case "postgresql": {
      const { PostgresCache } = await import("./backends/postgres/index.js");
      return PostgresCache.connect(text, options);
    }
    case "redis":
    case "rediss": {
      const { RedisCache } = await import("./backends/redis/index.js");
      return RedisCache.connect(text, options);
    }
    default:
      throw new CacheError(
        `no backend for "${scheme}:" URLs; expected a path, sqlite:, file:, memory:, redis:// or postgres://`,
      );
  }
}
