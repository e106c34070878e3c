import { CacheError } from "../errors.js";
import { type CacheOptions, type ResponseCache, setCacheOpener } from "./cache.js";

/** Bare words that name a backend without a file: taken as a path, they would make a file of that name. */
const BACKEND_WORDS = new Set(["memory", "redis", "rediss", "postgres", "postgresql"]);

/**
 * Maps a path or URL to a backend, loading the backend only when it is used:
 *
 * - `memory:` → a memory cache;
 * - a plain path → an SQLite file at that path, with `.sqlite` added unless the name ends with it
 *   (as `SQLiteCache.connectWithPath`); `:memory:` → SQLite in memory;
 * - `sqlite:PATH`, `sqlite::memory:` or a `file:` URL → SQLite, the path used as given (see
 *   `SQLiteCache.connect`);
 * - `redis://` and `rediss://` → Redis; `postgres://` and `postgresql://` → PostgreSQL. Their driver
 *   (ioredis, pg) is loaded here, so a missing package rejects at once with the command that installs it.
 *
 * A bare `memory`, `redis` or `postgres` (no colon) is refused: it would make a file of that name.
 * A single-letter "scheme" is a Windows drive letter, so `C:\cache` is a path.
 */
export async function createCache(value: string | URL, options: CacheOptions = {}): Promise<ResponseCache> {
  const text = value instanceof URL ? value.href : value;
  if (typeof text !== "string" || text.length === 0) {
    throw new TypeError(`ResponseCache.create takes a path or a URL, got ${JSON.stringify(value)}`);
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(text)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined: {
      if (BACKEND_WORDS.has(text.toLowerCase())) {
        throw new CacheError(
          `ResponseCache.create("${text}") is ambiguous: write "${text.toLowerCase() === "memory" ? "memory:" : `${text.toLowerCase()}://HOST`}" ` +
            `for that backend, or "./${text}" for an SQLite file ${text}.sqlite`,
        );
      }
      const { SQLiteCache } = await import("./backends/sqlite/cache.js");
      return text === ":memory:" ? SQLiteCache.connect(text, options) : SQLiteCache.connectWithPath(text, options);
    }
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
      const { PostgresCache } = await import("./backends/postgres/cache.js");
      const { loadPg } = await import("./backends/postgres/driver.js");
      const cache = PostgresCache.connect(text, options);
      await loadPg();
      return cache;
    }
    case "redis":
    case "rediss": {
      const { RedisCache } = await import("./backends/redis/cache.js");
      const { loadDriver } = await import("./backends/redis/driver.js");
      const cache = RedisCache.connect(text, options);
      await loadDriver();
      return cache;
    }
    default:
      throw new CacheError(
        `no backend for "${scheme}:" URLs; expected a path, sqlite:, file:, memory:, redis:// or postgres://`,
      );
  }
}

setCacheOpener(createCache);
