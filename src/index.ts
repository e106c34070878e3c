/**
 * requestful: cache HTTP responses per endpoint in SQLite, memory, Redis or PostgreSQL.
 * @packageDocumentation
 */

export * from "./cache/backends/memory/index.js";
export * from "./cache/backends/postgres/index.js";
export * from "./cache/backends/redis/index.js";
export * from "./cache/backends/sqlite/index.js";
export * from "./cache/index.js";
export {
  type CredentialNames,
  credentialPairs,
  DEFAULT_CREDENTIAL_HEADERS,
  DEFAULT_CREDENTIAL_PARAMS,
  type HeaderSource,
  hasCredentials,
  REDACTED,
  redactHeaders,
  redactUrl,
} from "./credentials.js";
export { type CalendarDuration, DEFAULT_EXPIRE, type Expire, MAX_EXPIRE } from "./duration.js";
export {
  CacheError,
  CacheTimeoutError,
  type CacheTimeoutErrorOptions,
  MissingDriverError,
  PayloadHandlerError,
  RequestError,
  type RequestErrorOptions,
  RequestfulError,
  ResponseError,
  type ResponseErrorOptions,
} from "./errors.js";
export * from "./payload/index.js";
export * from "./request/index.js";
export * from "./session/index.js";
export type { CacheRequest, Exchange, Key, KeyPart, KeyRequest, RequestDescriptor } from "./types.js";
