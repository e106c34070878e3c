import { resolve } from "node:path";

/** The environment variable that names the store when none is given in code or on the command line. */
export const CACHE_ENV = "REQUESTFUL_CACHE";

/** Where the store is when nothing names one: an SQLite file under the current folder. */
export const DEFAULT_CACHE_PATH = ".cache/requestful.sqlite";

/**
 * The store to use: `given` when there is one, else the {@link CACHE_ENV} environment variable, else
 * {@link DEFAULT_CACHE_PATH} resolved against `cwd`.
 *
 * @example defaultCacheLocation(); // "/home/me/project/.cache/requestful.sqlite"
 */
export function defaultCacheLocation(
  given?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): string {
  if (given !== undefined && given !== "") return given;
  const named = env[CACHE_ENV];
  if (named !== undefined && named !== "") return named;
  return resolve(cwd, DEFAULT_CACHE_PATH);
}
