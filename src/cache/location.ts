/**
 * Where a cache lives when none is named: the environment variable {@link CACHE_ENV} if it is set,
 * else the SQLite file {@link DEFAULT_CACHE_PATH} under the current directory — beside the program
 * that fills it, as `.cache/` folders of build tools are, so that each project keeps its own cache,
 * one `rm -r .cache` removes it, and nothing is written outside the project.
 */
export const DEFAULT_CACHE_PATH = ".cache/requestful.sqlite";

/** The environment variable that names the default cache: a path, `memory:`, `sqlite:`, `redis://` or `postgres://`. */
export const CACHE_ENV = "REQUESTFUL_CACHE";

/** The cache location to use when none is given: {@link CACHE_ENV}, or {@link DEFAULT_CACHE_PATH}. */
export function defaultCacheLocation(env: NodeJS.ProcessEnv = process.env): string {
  const named = env[CACHE_ENV];
  return named !== undefined && named.trim() !== "" ? named.trim() : DEFAULT_CACHE_PATH;
}
