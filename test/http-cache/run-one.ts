/**
 * Runs the suite over one configuration in this process and returns the raw results. The suite's
 * client keeps its results and settings in module state, so a process runs one configuration once.
 */
import type { FetchFunction } from "../../src/index.js";
import {
  type Configuration,
  createCache,
  createSession,
  detectFeatures,
  type SessionFeatures,
} from "./configurations.js";
import { startOrigin } from "./origin.js";
import { loadClient, loadGroups, loadOriginHandlers, type RawResult, type SuiteGroup, suiteFolder } from "./suite.js";

/** What one run produced. */
export interface RunOutput {
  readonly configuration: Configuration["name"];
  readonly features: SessionFeatures;
  readonly results: Record<string, RawResult>;
  readonly milliseconds: number;
}

/** Options of {@link runConfiguration}. */
export interface RunOptions {
  /** The suite's folder. */
  readonly folder?: string;
  /** A folder for the SQLite file. */
  readonly scratch: string;
  /** How many tests run at once (the suite runs them in chunks of this size). */
  readonly concurrency: number;
  /** Only these test ids (all when undefined). */
  readonly only?: readonly string[];
}

/**
 * The fetch the suite calls during a run: `/test/` URLs go through the session under test, the rest
 * (`/config`, `/state`) to the network. In the proxy-style run the suite adds `cache: "no-store"` to
 * step past a browser's own cache in front of the proxy it tests; here the session is the cache under
 * test, so that mode is dropped (the `Cache-Control` and `Pragma` headers it adds stay).
 */
export function suiteFetch(
  sessionFetch: FetchFunction,
  network: FetchFunction,
  configuration: Configuration,
): FetchFunction {
  return (input, init) => {
    const href = input instanceof Request ? input.url : String(input);
    if (!new URL(href).pathname.startsWith("/test/")) return network(input, init);
    if (!configuration.browserCache && init !== undefined && "cache" in init && init.cache === "no-store") {
      const { cache: _dropped, ...rest } = init as RequestInit & { cache?: string };
      return sessionFetch(input, rest);
    }
    return sessionFetch(input, init);
  };
}

function select(groups: readonly SuiteGroup[], only: readonly string[] | undefined): readonly SuiteGroup[] {
  if (only === undefined) return groups;
  const wanted = new Set(only);
  return groups
    .map((group) => ({ ...group, tests: group.tests.filter((test) => wanted.has(test.id)) }))
    .filter((group) => group.tests.length > 0);
}

/** Runs the suite's tests over one configuration, with the global fetch replaced for the run. */
export async function runConfiguration(configuration: Configuration, options: RunOptions): Promise<RunOutput> {
  const folder = options.folder ?? suiteFolder();
  const [groups, client, handlers] = await Promise.all([
    loadGroups(folder),
    loadClient(folder),
    loadOriginHandlers(folder),
  ]);
  const features = detectFeatures();
  const network = globalThis.fetch;
  const origin = await startOrigin(handlers);
  const cache = await createCache(configuration.backend, options.scratch, features);
  const session = createSession(cache, configuration.audience, network, features);
  const started = performance.now();
  globalThis.fetch = suiteFetch(session.fetch, network, configuration) as typeof globalThis.fetch;
  try {
    await client.runTests(
      select(groups, options.only),
      configuration.browserCache,
      origin.baseUrl,
      options.concurrency,
    );
  } finally {
    globalThis.fetch = network;
    await session.close();
    await origin.close();
  }
  return {
    configuration: configuration.name,
    features,
    results: client.getResults(),
    milliseconds: Math.round(performance.now() - started),
  };
}
