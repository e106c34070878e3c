import { STATUS_CODES } from "node:http";
import type { CacheEntry } from "../cache/entry.js";
import { describeValue } from "../describe.js";
import { CacheError } from "../errors.js";
import type { Key } from "../types.js";
import { readHeldBody } from "./held-body.js";
import { isNullBodyStatus } from "./policy.js";

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
}

type Pairs = readonly (readonly [string, string])[];

const responseHeaders = getter("headers");
const responseBlob = Response.prototype.blob;
const responseFormData = Response.prototype.formData;
const responseClone = Response.prototype.clone;

/**
 * A response served from a cache: a real WHATWG `Response` (`json()`, `text()`, `arrayBuffer()`,
 * `blob()`, `body`, `clone()`, `ok`, `headers`) with the status, headers and URL that the origin
 * sent and the body as stored, which also says when it was cached and when it expires.
 *
 * The status text is the standard reason phrase of the status (the origin's own phrase is not
 * stored). An entry saved as a `[key, payload]` pair has no origin response: it answers 200, with
 * only the `Content-Type` given in `init`.
 *
 * @example
 * const response = await session.fetch("https://api.example.com/v1/tracks/42");
 * if (response instanceof CachedResponse) console.log(`cached at ${response.cachedAt.toISOString()}`);
 */
export class CachedResponse extends Response {
  declare readonly url: string;
  declare readonly headers: Headers;
  declare readonly clone: () => CachedResponse;

  readonly #entry: CacheEntry;
  readonly #init: CachedResponseInit;
  readonly #url: string;
  readonly #stale: boolean;
  /** Header pairs not yet copied into `headers`: filled on first use, as most hits only read the body. */
  #pending: Pairs | undefined;
  /** Whether the body was given as text, so that `Response` added a `Content-Type` of its own. */
  readonly #textBody: boolean;

  /**
   * Builds a response from a stored entry. Throws a `CacheError` when the entry cannot make one (a
   * status out of range, headers that are not `[name, value]` pairs, a payload that is neither text
   * nor bytes).
   */
  constructor(entry: CacheEntry, init: CachedResponseInit = {}) {
    const status = entry.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new CacheError(`a cached entry has the status ${describeValue(status)}, not a final HTTP status`);
    }
    const stored = entry.headers === null ? pairsFor(init.contentType ?? null) : parseHeaders(entry.headers);
    const pairs = init.headers === undefined || init.headers.length === 0 ? stored : replaced(stored, init.headers);
    const payload = entry.payload;
    if (typeof payload !== "string" && !(payload instanceof Uint8Array)) {
      throw new CacheError(`a cached entry has a payload that is ${describeValue(payload)}, not text or bytes`);
    }
    const body = isNullBodyStatus(status) || entry.key[0] === "HEAD" ? null : payload;
    super(body, status === 200 ? OK : { status, statusText: STATUS_CODES[status] ?? "" });
    this.#entry = entry;
    this.#init = init;
    this.#url = entry.url ?? init.url ?? "";
    this.#stale = entry.expiresAt <= (init.now ?? Date.now());
    this.#pending = pairs;
    this.#textBody = typeof body === "string";
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

  /** The stored name of the payload, if its settings name payloads. */
  get name(): string | null {
    return this.#entry.name;
  }

  static {
    // The stored body is in memory already: text() and json() take it as it is.
    readHeldBody(CachedResponse.prototype, (response) => response.#entry.payload);
    // `url`, `headers`, `clone` and the body's methods are declared as fields of `Response`, so they
    // are redefined on the prototype here, where the private state is in reach.
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
          const headers = responseHeaders.call(this) as Headers;
          const pending = this.#pending;
          if (pending !== undefined) {
            this.#pending = undefined;
            fill(headers, pending, this.#textBody);
          }
          return headers;
        },
      },
      clone: {
        configurable: true,
        writable: true,
        value(this: CachedResponse): CachedResponse {
          // A body that was read or is being read cannot be cloned: let Response say so.
          if (this.bodyUsed || this.body?.locked) responseClone.call(this);
          const copy = new CachedResponse(this.#entry, this.#init);
          copy.#pending = this.#pending ?? [...this.headers];
          return copy;
        },
      },
      blob: {
        configurable: true,
        writable: true,
        value(this: CachedResponse): Promise<Blob> {
          void this.headers; // the blob's type comes from Content-Type
          return responseBlob.call(this);
        },
      },
      formData: {
        configurable: true,
        writable: true,
        value(this: CachedResponse): Promise<FormData> {
          void this.headers;
          return responseFormData.call(this);
        },
      },
    });
  }
}

const OK: ResponseInit = { status: 200, statusText: "OK" };

function getter(name: string): () => unknown {
  const get = Object.getOwnPropertyDescriptor(Response.prototype, name)?.get;
  if (get === undefined) throw new Error(`Response.prototype.${name} is not an accessor`);
  return get;
}

function pairsFor(contentType: string | null): Pairs {
  return contentType === null ? [] : [["content-type", contentType]];
}

/** The stored pairs without those named in `replacements`, then the replacements. */
function replaced(stored: Pairs, replacements: Pairs): Pairs {
  const names = new Set<string>();
  for (const pair of replacements) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      throw new TypeError(
        `CachedResponseInit.headers holds ${describeValue(pair)}, not a [name, value] pair of strings`,
      );
    }
    names.add(pair[0].toLowerCase());
  }
  return [...stored.filter(([name]) => !names.has(name.toLowerCase())), ...replacements];
}

/**
 * Stored headers already parsed, by their text. Entries of one resource share their headers text,
 * and pairs are only ever read, so a hit need not parse them again. Bounded: emptied when full.
 */
const parsedHeaders = new Map<string, Pairs>();
const PARSED_HEADERS_LIMIT = 512;

/** Parses stored headers: JSON text of `[name, value]` string pairs. */
function parseHeaders(text: string): Pairs {
  let pairs = parsedHeaders.get(text);
  if (pairs === undefined) {
    pairs = checkHeaders(text);
    if (parsedHeaders.size >= PARSED_HEADERS_LIMIT) parsedHeaders.clear();
    parsedHeaders.set(text, pairs);
  }
  return pairs;
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
