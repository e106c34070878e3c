/** Settings, caches and sessions shared by the session tests. */
import { join } from "node:path";
import {
  BytesPayloadHandler,
  CachedSession,
  type CachedSessionOptions,
  type CacheOptions,
  defineSettings,
  JSONPayloadHandler,
  MemoryCache,
  type PayloadHandler,
  type ResponseCache,
  repositoryByPathSegment,
  SQLiteCache,
  StringPayloadHandler,
} from "../../src/index.js";
import { tempFolder } from "./temp.js";

/** Keys GET requests for /v1/{name}/{id} by id; other methods and shapes are not cached. */
export function byId<V>(name: string, payloadHandler: PayloadHandler<V>) {
  return defineSettings<V>({
    name,
    fields: ["id"],
    getKey: ({ method, url }) => {
      const [version, , id] = url.pathname.split("/").slice(1);
      return [method === "GET" && version === "v1" && id ? id : null];
    },
    payloadHandler,
  });
}

/** Adds the repositories the tests use: tracks (JSON), pages (text) and files (bytes). */
export function addRepositories(cache: ResponseCache): void {
  cache.createRepository(byId("tracks", new JSONPayloadHandler()));
  cache.createRepository(byId("pages", new StringPayloadHandler()));
  cache.createRepository(byId("files", new BytesPayloadHandler()));
}

export interface Backend {
  name: string;
  /** A new cache, unconnected, routed by the first path segment after /v1. */
  make(options?: CacheOptions): ResponseCache;
}

/** The backends where the session's behaviour matters: memory, and SQLite on a file. */
export function backends(): { list: Backend[]; cleanup(): void } {
  const folder = tempFolder("requestful-session-");
  let n = 0;
  const routed = (options: CacheOptions = {}) => ({ repositoryGetter: repositoryByPathSegment(1), ...options });
  return {
    list: [
      { name: "memory", make: (options) => new MemoryCache(routed(options)) },
      {
        name: "sqlite (file)",
        make: (options) => SQLiteCache.connectWithPath(join(folder.path, `cache${n++}`), routed(options)),
      },
    ],
    cleanup: () => folder.remove(),
  };
}

/** A connected cache with the test repositories, and a session over it that logs nothing. */
export async function sessionOn(
  backend: Backend,
  cacheOptions: CacheOptions = {},
  sessionOptions: Omit<CachedSessionOptions, "cache"> = {},
): Promise<CachedSession> {
  const cache = backend.make(cacheOptions);
  addRepositories(cache);
  await cache.connect();
  return new CachedSession({ cache, logger: null, ...sessionOptions });
}

/** A clock that tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 0, 31, 12)) {
  const clock = {
    now: start,
    advance(ms: number) {
      clock.now += ms;
    },
  };
  return { clock, now: () => clock.now };
}
