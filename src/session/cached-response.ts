import { STATUS_CODES } from "node:http";
import type { CacheEntry } from "../cache/entry.js";
import { describeValue } from "../describe.js";
import { CacheError } from "../errors.js";
import type { Key, RequestDescriptor } from "../types.js";
import { type DeferredBody, deferBody, defineHeldReads } from "./held-body.js";
import type { Pairs } from "./http/fields.js";
import { isNullBodyStatus } from "./policy.js";
import { TextMemo } from "./text-memo.js";

/** How to build a {@link CachedResponse} where its entry does not say. */
export interface CachedResponseInit {
  /**
   * The URL to report when the entry has none (an entry saved as a `[key, payload]` pair).
   * @default ""
   * @example { url: "https://api.example.com/v1/tracks/42" }
   */
  url?: string;
  /**
   * The `Content-Type` to give an entry that has no stored headers (one saved as a pair); `null`
   * for none.
   * @default null
   * @example { contentType: "application/json" }
   */
  contentType?: string | null;
  /**
   * The instant, in epoch milliseconds, against which {@link CachedResponse.stale} is decided.
   * @default Date.now()
   * @example { now: cache.now() }
   */
  now?: number;
  /**
   * Header pairs that replace the stored headers of the same names (compared without regard to
   * case), such as `Age`, `Cache-Status` or headers refreshed by a `304 Not Modified`. Several
   * pairs of one name are all kept, in order.
   * @default []
   * @example { headers: [["age", "42"], ["cache-status", "requestful; hit"]] }
   */
  headers?: readonly (readonly [string, string])[];
  /**
   * Whether the response is served stale, where the cache decided it by its own rules rather than
   * by the entry's `expiresAt`.
   * @default expiresAt <= now
   * @example { stale: true }
   */
  stale?: boolean;
  /**
   * The body's JSON value, parsed already from the stored payload (a session checks the payload of
   * every hit of a JSON repository this way): the first `json()` returns it instead of parsing the
   * text again. Clones parse their own.
   * @default undefined (json() parses the stored text)
   * @example { parsedJson: { value: { id: 72 } } }
   */
  parsedJson?: { readonly value: unknown };
}

/** How a deferred body reaches its response's private state (set in the class's static block). */
let deferred: DeferredBody<CachedResponse>;

/** How {@link CachedResponse.from} builds a response: {@link CachedResponseInit} and the status. */
export interface CachedResponseFromInit extends CachedResponseInit {
  /**
   * The status to answer with.
   * @default 200
   * @example { status: 203 }
   */
  status?: number;
  /**
   * When the response expires, in epoch milliseconds; at or before `now` it is stale.
   * @default Number.MAX_SAFE_INTEGER (never)
   * @example { expiresAt: Date.now() + 60_000 }
   */
  expiresAt?: number;
}

const responseHeaders = getter("headers");
const responseBodyUsed = getter("bodyUsed");
const responseFormData = Response.prototype.formData;
const responseClone = Response.prototype.clone;

/**
 * A response served from a cache: a real WHATWG `Response` (`json()`, `text()`, `arrayBuffer()`,
 * `blob()`, `body`, `clone()`, `ok`, `headers`) with the status, headers and URL that the origin
 * sent and the body as stored, which also says when it was cached and when it expires.
 *
 * The body is read straight from the stored payload: `json()`, `text()`, `arrayBuffer()`,
 * `bytes()` and `blob()` make no stream, and the stream is made only when `body` is read. To
 * anything that looks (`bodyUsed`, `clone()`, a second read, `Response.prototype` methods called on
 * it) it behaves as a response over its body.
 *
 * The status text is the standard reason phrase of the status (the origin's own phrase is not
 * stored). An entry saved as a `[key, payload]` pair has no origin response: it answers 200, with
 * only the `Content-Type` given in `init`. To build one from a request and a payload, use
 * {@link CachedResponse.from}.
 *
 * @example
 * const response = await session.fetch("https://api.example.com/v1/tracks/42");
 * if (response instanceof CachedResponse) console.log(`cached at ${response.cachedAt.toISOString()}`);
 */
export class CachedResponse extends Response {
  declare readonly url: string;
  declare readonly headers: Headers;
  declare readonly bodyUsed: boolean;
  declare readonly clone: () => CachedResponse;

  readonly #entry: CacheEntry;
  readonly #init: CachedResponseInit;
  readonly #url: string;
  readonly #stale: boolean;
  /** Header pairs not yet copied into `headers`: filled on first use, as most hits only read the body. */
  #pending: Pairs | undefined;
  /** Pairs that replace pending ones of the same names (`init.headers`), merged with them on first use. */
  #replacements: Pairs | undefined;
  /** Whether `Response` holds the body as text, and so added a `Content-Type` of its own. */
  readonly #textBody: boolean;
  /**
   * The body as stored while it is read from there; `undefined` once `Response` holds it (its
   * stream was made), or when there is none.
   */
  #held: string | Uint8Array | undefined;
  /** The body's JSON value, parsed already, for the first `json()`. */
  #parsed: { readonly value: unknown } | undefined;
  /** Whether the body was read from `#held`. */
  #used = false;

  /**
   * Builds a response from a stored entry. Throws a `CacheError` when the entry cannot make one (a
   * status out of range, headers that are not `[name, value]` pairs, a payload that is neither text
   * nor bytes).
   */
  constructor(entry: CacheEntry, init: CachedResponseInit = {}) {
    if (typeof entry !== "object" || entry === null || entry instanceof Request || !("payload" in entry)) {
      throw new TypeError(
        `new CachedResponse(entry, init?) takes a stored CacheEntry, got ${describeValue(entry)}; ` +
          "for a response from a request and a payload, use CachedResponse.from(request, payload, init?)",
      );
    }
    const status = entry.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new CacheError(`a cached entry has the status ${describeValue(status)}, not a final HTTP status`);
    }
    const stored = entry.headers === null ? pairsFor(init.contentType ?? null) : parseHeaders(entry.headers);
    const replacements = init.headers === undefined || init.headers.length === 0 ? undefined : checked(init.headers);
    const payload = entry.payload;
    if (typeof payload !== "string" && !(payload instanceof Uint8Array)) {
      throw new CacheError(`a cached entry has a payload that is ${describeValue(payload)}, not text or bytes`);
    }
    const body = isNullBodyStatus(status) || entry.key[0] === "HEAD" ? null : payload;
    const defer = body !== null && deferBody !== undefined;
    super(defer ? null : body, status === 200 ? OK : { status, statusText: STATUS_CODES[status] ?? "" });
    this.#entry = entry;
    this.#init = init;
    this.#url = entry.url ?? init.url ?? "";
    this.#stale = init.stale ?? entry.expiresAt <= (init.now ?? Date.now());
    this.#pending = stored;
    this.#replacements = replacements;
    this.#parsed = init.parsedJson;
    this.#textBody = !defer && typeof body === "string";
    if (defer) {
      this.#held = body;
      deferBody?.(this, deferred);
    } else {
      // `Response`'s own methods read the header list directly: where it cannot be told first, fill it now.
      this.#fill();
    }
  }

  /**
   * Builds a response from a request and a payload, as if the origin had answered the request
   * with it: the status (200 unless `init` says), the payload as the body, the request's URL, and
   * only the headers given in `init` (a `Content-Type` through `init.contentType`). Its key is the
   * request's method and URL; it was cached now and does not expire unless `init` says when.
   *
   * @example
   * const request = new Request("https://official-joke-api.appspot.com/jokes/programming/random");
   * const response = CachedResponse.from(request, JSON.stringify([{ id: 72, type: "programming" }]), {
   *   contentType: "application/json",
   * });
   * await response.json(); // [{ id: 72, type: "programming" }]
   */
  static from(
    request: Request | RequestDescriptor | string | URL,
    payload: string | Uint8Array,
    init: CachedResponseFromInit = {},
  ): CachedResponse {
    if (typeof payload !== "string" && !(payload instanceof Uint8Array)) {
      throw new TypeError(
        `CachedResponse.from(request, payload, init?) takes a payload of text or bytes, got ${describeValue(payload)}` +
          " (JSON.stringify a value first)",
      );
    }
    const { method, url } = requestParts(request);
    const now = init.now ?? Date.now();
    const entry: CacheEntry = {
      key: [method, url],
      name: null,
      cachedAt: now,
      expiresAt: init.expiresAt ?? Number.MAX_SAFE_INTEGER,
      payload,
      status: init.status ?? 200,
      headers: null,
      url,
      meta: null,
    };
    const status = entry.status;
    if (!Number.isInteger(status) || (status as number) < 200 || (status as number) > 599) {
      throw new RangeError(`CachedResponse.from takes a status from 200 to 599, got ${describeValue(status)}`);
    }
    return new CachedResponse(entry, { ...init, now });
  }

  /** Always true: the response was served from a cache. */
  get fromCache(): true {
    return true;
  }

  /** The key the response is stored under. */
  get key(): Key {
    return this.#entry.key;
  }

  /** When the response was stored (a new `Date` on each read). */
  get cachedAt(): Date {
    return new Date(this.#entry.cachedAt);
  }

  /** When the stored response expires (a new `Date` on each read). */
  get expiresAt(): Date {
    return new Date(this.#entry.expiresAt);
  }

  /** Whether the response had expired when it was served (as `force-cache` and `only-if-cached` allow). */
  get stale(): boolean {
    return this.#stale;
  }

  /** The age of the response in seconds, as its `Age` header says (RFC 9111 §5.1); 0 when it has none. */
  get age(): number {
    const value = overridden(this.#init.headers, "age");
    return value === undefined ? 0 : Number(value);
  }

  /**
   * How the cache made this answer, as its `Cache-Status` header says (RFC 9211): for example
   * `requestful; hit; ttl=48`, or `requestful; fwd=stale; fwd-status=304` after a revalidation.
   */
  get cacheStatus(): string | null {
    return overridden(this.#init.headers, "cache-status") ?? null;
  }

  /** The stored name of the payload, if its settings name payloads. */
  get name(): string | null {
    return this.#entry.name;
  }

  /** Copies the pending pairs into `headers`, once. */
  #fill(): Headers {
    const headers = responseHeaders.call(this) as Headers;
    const pending = this.#pending;
    if (pending !== undefined) {
      const replacements = this.#replacements;
      this.#pending = undefined;
      this.#replacements = undefined;
      fill(headers, replacements === undefined ? pending : replaced(pending, replacements), this.#textBody);
    }
    return headers;
  }

  /**
   * The held body, marked used, or `undefined` when `Response` must read it: it holds the body's
   * stream already, or the body was read (so that the error is `Response`'s own).
   */
  #take(): string | Uint8Array | undefined {
    const held = this.#held;
    if (held === undefined || this.#used) return undefined;
    this.#used = true;
    return held;
  }

  static {
    deferred = {
      held: (response) => response.#entry.payload as string | Uint8Array,
      used: (response) => response.#used,
      materialised: (response) => {
        // Response's own code reads the stream before the header list: fill it first.
        response.#fill();
        response.#held = undefined;
      },
    };
    // `url`, `headers`, `bodyUsed`, `clone` and the body's methods are declared as fields of
    // `Response`, so they are redefined on the prototype here, where the private state is in reach.
    Object.defineProperties(CachedResponse.prototype, {
      url: {
        configurable: true,
        get(this: CachedResponse): string {
          return this.#url;
        },
      },
      headers: {
        configurable: true,
        get(this: CachedResponse): Headers {
          return this.#fill();
        },
      },
      bodyUsed: {
        configurable: true,
        get(this: CachedResponse): boolean {
          return this.#held === undefined ? (responseBodyUsed.call(this) as boolean) : this.#used;
        },
      },
      formData: method(function (this: CachedResponse): Promise<FormData> {
        this.#fill();
        return responseFormData.call(this);
      }),
      clone: method(function (this: CachedResponse): CachedResponse {
        // A body that was read or is being read cannot be cloned: let Response say so.
        if (this.#used || (this.#held === undefined && (this.bodyUsed || this.body?.locked))) {
          responseClone.call(this);
        }
        const { parsedJson: _parsed, ...init } = this.#init;
        const copy = new CachedResponse(this.#entry, init);
        if (this.#pending === undefined) {
          copy.#pending = [...this.headers];
          copy.#replacements = undefined;
        } else copy.#pending = this.#pending;
        return copy;
      }),
    });
    defineHeldReads(CachedResponse.prototype, {
      take: (response) => response.#take(),
      parsed: (response) => {
        const parsed = response.#parsed;
        response.#parsed = undefined;
        return parsed;
      },
      holds: (response) => response.#held !== undefined && !response.#used,
    });
  }
}

/** A property descriptor for a method, as classes define them. */
function method(value: (...args: never[]) => unknown): PropertyDescriptor {
  return { configurable: true, writable: true, value };
}

/** The method and absolute URL of a request given to {@link CachedResponse.from}. */
function requestParts(request: Request | RequestDescriptor | string | URL): { method: string; url: string } {
  if (typeof request === "string" || request instanceof URL) return { method: "GET", url: absolute(request) };
  if (request instanceof Request) return { method: request.method, url: request.url };
  if (typeof request === "object" && request !== null && typeof request.method === "string") {
    return { method: request.method.toUpperCase(), url: absolute(request.url) };
  }
  throw new TypeError(
    `CachedResponse.from(request, payload, init?) takes a Request, a URL or { method, url }, got ${describeValue(request)}`,
  );
}

function absolute(url: string | URL): string {
  try {
    return new URL(url).href;
  } catch (cause) {
    throw new TypeError(`CachedResponse.from takes an absolute URL, got ${describeValue(String(url))}`, { cause });
  }
}

const OK: ResponseInit = { status: 200, statusText: "OK" };

function getter(name: string): () => unknown {
  const get = Object.getOwnPropertyDescriptor(Response.prototype, name)?.get;
  if (get === undefined) throw new Error(`Response.prototype.${name} is not an accessor`);
  return get;
}

/** The value of a field among override pairs, or `undefined`. */
function overridden(pairs: Pairs | undefined, name: string): string | undefined {
  if (pairs === undefined) return undefined;
  for (const [key, value] of pairs) if (key.toLowerCase() === name) return value;
  return undefined;
}

function pairsFor(contentType: string | null): Pairs {
  return contentType === null ? [] : [["content-type", contentType]];
}

/** Replacement pairs, checked to be `[name, value]` pairs of strings. */
function checked(replacements: Pairs): Pairs {
  for (const pair of replacements) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      throw new TypeError(
        `CachedResponseInit.headers holds ${describeValue(pair)}, not a [name, value] pair of strings`,
      );
    }
  }
  return replacements;
}

/** The stored pairs without those named in `replacements`, then the replacements. */
function replaced(stored: Pairs, replacements: Pairs): Pairs {
  const names = new Set<string>();
  for (const [name] of replacements) names.add(name.toLowerCase());
  return [...stored.filter(([name]) => !names.has(name.toLowerCase())), ...replacements];
}

/** Stored headers already parsed, by their text (see {@link TextMemo}). */
const parsedHeaders = new TextMemo(checkHeaders);

/** Parses stored headers: JSON text of `[name, value]` string pairs. */
function parseHeaders(text: string): Pairs {
  return parsedHeaders.get(text);
}

function checkHeaders(text: string): Pairs {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new CacheError("a cached entry has headers that are not JSON", { cause });
  }
  if (!Array.isArray(parsed)) throw new CacheError("a cached entry has headers that are not a list of pairs");
  for (const pair of parsed) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      throw new CacheError(`a cached entry has a header that is not a [name, value] pair: ${describeValue(pair)}`);
    }
  }
  for (const pair of parsed) Object.freeze(pair);
  return Object.freeze(parsed) as Pairs;
}

/**
 * Copies stored pairs into a response's own headers. A text body made `Response` add a
 * `text/plain` Content-Type: the stored one replaces it, and without one it is removed. A pair
 * that `Headers` refuses is left out rather than making `headers` throw.
 */
function fill(headers: Headers, pairs: Pairs, textBody: boolean): void {
  const seen = new Set<string>();
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    try {
      if (seen.has(lower)) headers.append(name, value);
      else headers.set(name, value);
      seen.add(lower);
    } catch {
      // A pair that Headers refuses (an invalid name or value) cannot be replayed; the rest can.
    }
  }
  if (textBody && !seen.has("content-type")) headers.delete("content-type");
}
