/**
 * The base of every error that requestful throws on purpose.
 *
 * Catch this to handle any requestful failure; check the subclasses for the specific cause.
 */
export class RequestfulError extends Error {
  override name = "RequestfulError";
}

/** A cache or repository could not do what was asked: a backend failed, a name cannot be stored, a store is closed. */
export class CacheError extends RequestfulError {
  override name = "CacheError";
}

/** A payload handler was given something it cannot serialize or deserialize. */
export class PayloadHandlerError extends RequestfulError {
  override name = "PayloadHandlerError";
}
