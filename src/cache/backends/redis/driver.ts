import type * as IORedis from "ioredis";
import { CacheError, MissingDriverError } from "../../../errors.js";

/** The module of the Redis client, loaded on first use. */
export type IORedisModule = typeof IORedis;

/** The package that the Redis backend needs, and how to install it. */
export const DRIVER_PACKAGE = "ioredis";

let loading: Promise<IORedisModule> | undefined;

/**
 * Loads ioredis, an optional peer dependency, the first time a Redis cache opens. A missing
 * package is a `MissingDriverError` that says what to install.
 */
export function loadDriver(): Promise<IORedisModule> {
  loading ??= import(DRIVER_PACKAGE).then(
    (module: IORedisModule) => module,
    (cause: unknown) => {
      loading = undefined;
      throw driverError(cause);
    },
  );
  return loading;
}

function driverError(cause: unknown): CacheError {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
    return new MissingDriverError(
      `the Redis backend needs the "${DRIVER_PACKAGE}" package, which is not installed: npm install ${DRIVER_PACKAGE}`,
      { cause, packageName: DRIVER_PACKAGE },
    );
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new CacheError(`could not load the "${DRIVER_PACKAGE}" package for the Redis backend: ${message}`, { cause });
}
