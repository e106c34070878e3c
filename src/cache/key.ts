import { describeValue } from "../describe.js";
import type { CacheRequest, HeadersInit, Key, KeyRequest, RequestDescriptor } from "../types.js";

/**
 * A string that identifies a key exactly: parts keep their types (`1` is not `"1"`) and separators
 * inside parts cannot make two keys collide.
 */
export function keyId(key: Key): string {
  if (!Object.isFrozen(key)) return JSON.stringify(key);
  let id = frozenIds.get(key);
  if (id === undefined) {
    id = JSON.stringify(key);
    frozenIds.set(key, id);
  }
  return id;
}

/**
 * The ids of frozen keys, made once: a key remembered for a URL (by a session or a request
 * handler) is read with on every hit, and cannot change.
 */
const frozenIds = new WeakMap<Key, string>();

/**
 * The key that an entry read for `key` carries: a copy, so that changing the entry does not change
 * the caller's key, or a frozen key as it is (it cannot be changed).
 */
export function ownKey<K extends Key>(key: K): K {
  return Object.isFrozen(key) ? key : ([...key] as unknown as K);
}

/** Turns anything a cache takes as a request into the form that settings read. */
export function toKeyRequest(request: CacheRequest): KeyRequest {
  if (request instanceof Request) {
    return { method: request.method.toUpperCase(), url: new URL(request.url), headers: request.headers };
  }
  if (typeof request !== "object" || request === null) {
    throw new TypeError(`expected a key, a Request or { method, url }, got ${describeValue(request)}`);
  }
  const { method, url, headers, bodyDigest, partition } = request as KeyRequestInit;
  if (typeof method !== "string" || method.length === 0) {
    throw new TypeError(`request.method must be a non-empty string, got ${describeValue(method)}`);
  }
  let parsed: URL;
  if (url instanceof URL) parsed = url;
  else if (typeof url === "string") {
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new TypeError(`request.url must be an absolute URL, got ${JSON.stringify(url)}`, { cause });
    }
  } else throw new TypeError(`request.url must be a string or a URL, got ${describeValue(url)}`);
  const described = new DescribedRequest(method.toUpperCase(), parsed, headers);
  if (bodyDigest !== undefined) described.bodyDigest = bodyDigest;
  if (partition !== undefined) described.partition = partition;
  return described;
}

/** A descriptor with what the session adds for the default HTTP repository. */
interface KeyRequestInit extends RequestDescriptor {
  bodyDigest?: string | undefined;
  partition?: string | undefined;
}

/** The URL of a request, for routing it to a repository. */
export function requestUrl(request: CacheRequest): URL {
  return toKeyRequest(request).url;
}

/** A descriptor as settings see it; its `Headers` are built only if `getKey` reads them. */
class DescribedRequest implements KeyRequest {
  readonly method: string;
  readonly url: URL;
  bodyDigest?: string;
  partition?: string;
  #init: HeadersInit | undefined;
  #headers: Headers | undefined;

  constructor(method: string, url: URL, init: HeadersInit | undefined) {
    this.method = method;
    this.url = url;
    this.#init = init;
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      this.#headers = new Headers(this.#init);
      this.#init = undefined;
    }
    return this.#headers;
  }
}
