import type { Fields } from "./http/fields.js";
/**
 * The session's caching decisions, as pure functions: what a request's `cache` mode allows, which
 * responses may be stored, and which of their headers are kept. The IO lives in the session.
 */

/** Fetch's `cache` modes (the `cache` member of `RequestInit`). */
export type FetchCacheMode = "default" | "force-cache" | "no-cache" | "no-store" | "only-if-cached" | "reload";

const CACHE_MODES: ReadonlySet<string> = new Set<FetchCacheMode>([
  "default",
  "force-cache",
  "no-cache",
  "no-store",
  "only-if-cached",
  "reload",
]);

/** Whether a value is one of fetch's `cache` modes. */
export function isFetchCacheMode(value: unknown): value is FetchCacheMode {
  return typeof value === "string" && CACHE_MODES.has(value);
}

/** What the session does with one request. */
export interface CachePlan {
  /** Which stored entries may answer: live ones, any the backend still holds (expired too), or none. */
  readonly read: "live" | "any" | "none";
  /** What happens when no entry answers: a network request, or a 504 answer without one. */
  readonly onMiss: "network" | "gateway-timeout";
  /** Whether the network response may be stored. */
  readonly store: boolean;
  /** Whether the request may share the network request of an identical request in flight. */
  readonly coalesce: boolean;
}

/** Why a request did not read the cache. */
export type BypassReason =
  /** The cache's `repositoryGetter` found no repository for the URL. */
  | "no-repository"
  /** The repository's settings gave the request no key (another method, another URL shape). */
  | "no-key"
  /** The session's `expireByUrl` or the request's own `expire` says not to cache it (`false`). */
  | "expire-rule"
  /** The circuit breaker is open: the cache failed again and again, and is skipped for a while. */
  | "circuit-open"
  /** The request carries credentials that the session does not cache (see its `credentials` option). */
  | "credentials"
  /** A `default` request with a conditional header (If-None-Match, If-Modified-Since, ...). */
  | "conditional"
  /** A request with a `Range` header. */
  | "range"
  /** `cache: "no-store"`. */
  | "no-store"
  /** `cache: "reload"`: not read, but stored. */
  | "reload"
  /** The `repositoryGetter` or the settings' `getKey` threw (reported as a `route` error). */
  | "error";

/** What the session knows about a request when it plans. */
export interface PlanInput {
  /** The request's `cache` mode. */
  mode: FetchCacheMode;
  /** Whether the session stores responses at all (its `persist` option). */
  persist: boolean;
  /** Whether the request carries a conditional header (If-None-Match, If-Modified-Since, ...). */
  conditional: boolean;
  /** Whether the request carries a Range header. */
  range: boolean;
}

export type Plan =
  | { readonly bypass: BypassReason; readonly plan: CachePlan }
  | { readonly bypass: undefined; readonly plan: CachePlan };

function plan(read: CachePlan["read"], onMiss: CachePlan["onMiss"], store: boolean, coalesce: boolean): CachePlan {
  return Object.freeze({ read, onMiss, store, coalesce });
}

// Plans are shared constants: planning a request allocates nothing.
const NETWORK_ONLY = plan("none", "network", false, false);
const ONLY_IF_CACHED = plan("any", "gateway-timeout", false, false);
const UNAVAILABLE: Plan = { bypass: "range", plan: plan("none", "gateway-timeout", false, false) };
const RANGE: Plan = { bypass: "range", plan: NETWORK_ONLY };
const CONDITIONAL: Plan = { bypass: "conditional", plan: NETWORK_ONLY };
const NO_STORE: Plan = { bypass: "no-store", plan: NETWORK_ONLY };

function plans(persist: boolean) {
  const reload = persist ? plan("none", "network", true, false) : NETWORK_ONLY;
  return {
    default: { bypass: undefined, plan: plan("live", "network", persist, true) },
    "force-cache": { bypass: undefined, plan: plan("any", "network", persist, true) },
    "only-if-cached": { bypass: undefined, plan: ONLY_IF_CACHED },
    reload: { bypass: "reload", plan: reload },
    "no-cache": { bypass: undefined, plan: plan("any", "network", persist, false) },
  } as const satisfies Record<string, Plan>;
}
const STORING = plans(true);
const NOT_STORING = plans(false);

/**
 * Plans a request from its `cache` mode, following the Fetch standard (§ HTTP-network-or-cache
 * fetch); whether a stored response is fresh is decided by the repository's policy:
 *
 * - `default`: a live entry answers; otherwise the network, and the response is stored.
 * - `force-cache`: any entry the backend still holds answers, expired or not; otherwise as `default`.
 * - `only-if-cached`: any entry the backend still holds answers; otherwise a 504, and no network.
 * - `no-cache`: a stored response is validated with the origin first (a conditional request when
 *   it has an `ETag` or `Last-Modified`, RFC 9111 §4.3.1); the response is stored.
 * - `reload`: the network, without reading; the response is stored.
 * - `no-store`: the network, as if there were no cache.
 *
 * As the standard says, a `default` request with a conditional header is treated as `no-store`,
 * and so is a request with a Range header in any mode (a part is not what the key stands for).
 * `persist: false` keeps every plan from storing.
 */
export function planRequest({ mode, persist, conditional, range }: PlanInput): Plan {
  if (range) return mode === "only-if-cached" ? UNAVAILABLE : RANGE;
  const plans = persist ? STORING : NOT_STORING;
  switch (mode) {
    case "default":
      return conditional ? CONDITIONAL : plans.default;
    case "force-cache":
    case "only-if-cached":
    case "reload":
    case "no-cache":
      return plans[mode];
    case "no-store":
      return NO_STORE;
    default: {
      const never: never = mode;
      throw new TypeError(`unknown cache mode ${String(never)}`);
    }
  }
}

/** The conditional request headers of the Fetch standard that turn a `default` request into `no-store`. */
const CONDITIONAL_HEADERS = ["if-modified-since", "if-none-match", "if-unmodified-since", "if-match", "if-range"];

export function hasConditionalHeader(headers: Headers): boolean {
  for (const name of CONDITIONAL_HEADERS) if (headers.has(name)) return true;
  return false;
}

/** Statuses whose responses have no body (Fetch standard, "null body status"), plus 103. */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

export function isNullBodyStatus(status: number): boolean {
  return NULL_BODY_STATUSES.has(status);
}

/**
 * Whether a response with this status may be stored: a success (200–299) with a body to store, so
 * not 204 or 205 (no body) and not 206 (a part of the resource, not the resource).
 */
export function isStorableStatus(status: number): boolean {
  return status >= 200 && status <= 299 && status !== 204 && status !== 205 && status !== 206;
}

/**
 * Header fields that describe the connection, not the response: removed before a response is
 * stored (RFC 9110 §7.6.1, RFC 9111 §3.1), as are those that `Connection` names.
 */
const CONNECTION_FIELDS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * The header fields of a response that a stored copy keeps, as `[name, value]` pairs: all but the
 * connection-specific ones and `Set-Cookie` (one user's cookies are not replayed to another).
 */
export function headersToStore(headers: Headers): [string, string][] {
  const listed = headers.get("connection");
  const dropped = listed === null ? CONNECTION_FIELDS : withListed(listed);
  const kept: [string, string][] = [];
  for (const [name, value] of headers) {
    if (name === "set-cookie" || dropped.has(name)) continue;
    kept.push([name, value]);
  }
  return kept;
}

/** A network response's header fields, read in one pass. */
export interface ResponseFields {
  /** Those that a stored copy keeps, as {@link headersToStore} gives them. */
  readonly kept: [string, string][];
  /** Every field, read as `Headers.get` reads it. */
  readonly fields: Fields;
}

/**
 * Reads a response's header fields once: those a stored copy keeps, and the value of each (lines of
 * one name combined with `, `, as `Headers.get` gives them), without asking `Headers` again.
 */
export function readResponseFields(headers: Headers): ResponseFields {
  const lines: [string, string][] = [];
  const values = new Map<string, string>();
  for (const [name, value] of headers) {
    lines.push([name, value]);
    const before = values.get(name);
    values.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  const listed = values.get("connection");
  const dropped = listed === undefined ? CONNECTION_FIELDS : withListed(listed);
  const kept = lines.filter(([name]) => name !== "set-cookie" && !dropped.has(name));
  return { kept, fields: { get: (name) => values.get(name.toLowerCase()) ?? null } };
}

/** The last `Connection` value read, and the fields it drops: responses on one connection repeat it. */
let lastConnection: string | undefined;
let lastDropped: ReadonlySet<string> = CONNECTION_FIELDS;

/** The connection fields and those that a `Connection` value lists (usually just `keep-alive` or `close`). */
function withListed(connection: string): ReadonlySet<string> {
  if (connection !== lastConnection) {
    lastDropped = listedFields(connection);
    lastConnection = connection;
  }
  return lastDropped;
}

function listedFields(connection: string): ReadonlySet<string> {
  let names: Set<string> | undefined;
  for (const name of connection.split(",")) {
    const listed = name.trim().toLowerCase();
    if (listed === "" || listed === "close" || CONNECTION_FIELDS.has(listed)) continue;
    names ??= new Set(CONNECTION_FIELDS);
    names.add(listed);
  }
  return names ?? CONNECTION_FIELDS;
}

/**
 * The length that a response declares in `Content-Length`, or `undefined`. For an encoded body it is
 * the encoded length; a decoded body is rarely shorter, so a declared length above the limit is
 * enough to pass a response through without reading it.
 */
export function declaredLength(headers: Fields): number | undefined {
  const value = headers.get("content-length");
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}
