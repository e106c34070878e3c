import { describeValue } from "../../../describe.js";
import { CacheError } from "../../../errors.js";

/** The version of the stored layout, part of every key; a new layout gets new keys. */
export const LAYOUT_VERSION = 1;

/** The key prefix that a Redis cache uses unless told otherwise. */
export const DEFAULT_PREFIX = "requestful";

/**
 * Where one repository lives in Redis. Every key of the repository holds the hash tag
 * `{base64url(name)}`, so that all of them hash to one cluster slot, and no repository name can
 * reach another repository's keys or act as a pattern:
 *
 * - `PREFIX:v1:{NAME}:e:KEY`: one entry (a string, with Redis's own expiry), KEY being the entry's
 *   key as JSON;
 * - `PREFIX:v1:{NAME}:x`: the index, a sorted set of KEY scored by the entry's `expiresAt`;
 * - `PREFIX:v1:{NAME}:g`: the sorted set of KEY scored by the server time at which Redis drops the
 *   entry, so that the index forgets entries that Redis has expired.
 */
export class KeyLayout {
  /** The common start of every key of the repository. */
  readonly base: string;
  /** The sorted set of entry keys by `expiresAt`. */
  readonly index: string;
  /** The sorted set of entry keys by the server time at which Redis drops them. */
  readonly gone: string;
  readonly #entries: string;

  constructor(prefix: string, name: string) {
    this.base = `${prefix}:v${LAYOUT_VERSION}:{${encodeName(name)}}:`;
    this.index = `${this.base}x`;
    this.gone = `${this.base}g`;
    this.#entries = `${this.base}e:`;
  }

  /** The Redis key of the entry whose key id (its key as JSON) is `id`. */
  entry(id: string): string {
    return this.#entries + id;
  }
}

/** A repository name as it appears in keys: its UTF-8 bytes in base64url (A–Z, a–z, 0–9, `-`, `_`). */
export function encodeName(name: string): string {
  return Buffer.from(name, "utf8").toString("base64url");
}

/** Refuses a repository name that cannot be encoded without loss (a lone UTF-16 surrogate). */
export function checkName(name: string): void {
  if (/\p{Cs}/u.test(name)) {
    throw new CacheError(
      `repository name ${JSON.stringify(name)} holds a lone UTF-16 surrogate, which Redis keys cannot keep apart`,
    );
  }
}

/** Checks the `prefix` option: any text without braces, which would break the hash tag. */
export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== "string") {
    throw new TypeError(`prefix must be a string, got ${describeValue(prefix)}`);
  }
  if (prefix.length === 0 || /[{}]/.test(prefix) || /\p{Cs}/u.test(prefix)) {
    throw new RangeError(
      `prefix must be non-empty text without "{" or "}" (they would change the cluster hash tag), got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}

/** Escapes text for a Redis glob pattern (SCAN MATCH), so that it matches only itself. */
export function escapePattern(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
