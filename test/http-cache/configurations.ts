/**
 * The four configurations the suite grades (memory and SQLite, as a private and as a shared cache),
 * and how the session under test is built for each.
 */
import { join } from "node:path";
import {
  CachedSession,
  type CachedSessionOptions,
  type FetchFunction,
  MemoryCache,
  type ResponseCache,
  SQLiteCache,
} from "../../src/index.js";

/** The backends the suite runs over. */
export type Backend = "memory" | "sqlite";

/** A private cache (one user's client) or a shared one (a proxy in front of many). */
export type Audience = "private" | "shared";

/** One way of running the suite. */
export interface Configuration {
  readonly name: `${Backend}-${Audience}`;
  readonly backend: Backend;
  readonly audience: Audience;
  /**
   * The suite's own switch: `true` runs the browser-style tests (a private cache), `false` the
   * proxy-style ones, which add the CDN and proxy tests and leave out those for browsers only.
   */
  readonly browserCache: boolean;
}

/** Every configuration, in the order they are printed. */
export const CONFIGURATIONS: readonly Configuration[] = [
  { name: "memory-private", backend: "memory", audience: "private", browserCache: true },
  { name: "sqlite-private", backend: "sqlite", audience: "private", browserCache: true },
  { name: "memory-shared", backend: "memory", audience: "shared", browserCache: false },
  { name: "sqlite-shared", backend: "sqlite", audience: "shared", browserCache: false },
];

/**
 * Which of the suite's test sets the shared configurations run: `proxy` (the default, with
 * `browserCache` false) or `browser`, the set the private configurations run, to compare the two
 * audiences on the same tests.
 */
export type SharedStyle = "proxy" | "browser";

/** The configuration, with the test set of `style` when it is a shared one. */
export function withSharedStyle(configuration: Configuration, style: SharedStyle): Configuration {
  return configuration.audience === "shared" ? { ...configuration, browserCache: style === "browser" } : configuration;
}

/** The configuration with this name, or a `RangeError` that lists the names. */
export function configurationNamed(name: string): Configuration {
  const found = CONFIGURATIONS.find((configuration) => configuration.name === name);
  if (found === undefined) {
    throw new RangeError(`no configuration "${name}"; expected one of ${CONFIGURATIONS.map((c) => c.name).join(", ")}`);
  }
  return found;
}

/** What the session under test supports: options passed only when it accepts them. */
export interface SessionFeatures {
  /** The session takes `shared` (and repositories take `policy: "http"`). */
  readonly shared: boolean;
}

/**
 * Whether `CachedSession` accepts an option: it refuses unknown ones with a `TypeError` that names
 * them, so a session built with the option on a throwaway cache tells.
 */
export function sessionAccepts(option: string, value: unknown): boolean {
  const probe = { cache: new MemoryCache(), [option]: value } as unknown as CachedSessionOptions;
  try {
    new CachedSession(probe);
    return true;
  } catch (error) {
    if (error instanceof TypeError && error.message.includes(`"${option}"`)) return false;
    throw error;
  }
}

/** What the session under test accepts, found once per process. */
export function detectFeatures(): SessionFeatures {
  return { shared: sessionAccepts("shared", false) };
}

/**
 * The cache for one configuration, with no repository of its own: the session's default HTTP
 * repository takes every request, keyed by its method and normalised URL, under the HTTP policy —
 * what `new CachedSession()` does. SQLite uses a real file in `folder`.
 */
export async function createCache(
  backend: Backend,
  folder: string,
  _features: SessionFeatures,
): Promise<ResponseCache> {
  const cache = backend === "memory" ? new MemoryCache() : new SQLiteCache(join(folder, "suite.sqlite"));
  return cache.connect();
}

/** The session under test: `fetch` is the network (the real fetch, not the one the suite calls). */
export function createSession(
  cache: ResponseCache,
  audience: Audience,
  fetch: FetchFunction,
  features: SessionFeatures,
): CachedSession {
  const options: CachedSessionOptions = { cache, fetch };
  if (features.shared) Object.assign(options, { shared: audience === "shared" });
  return new CachedSession(options);
}
