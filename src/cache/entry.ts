import type { StoredPayload } from "../payload/handler.js";
import type { Key } from "../types.js";

/**
 * One stored response, as a backend keeps it. Instants are epoch milliseconds; an entry is live
 * while `now < expiresAt`.
 */
export interface CacheEntry<K extends Key = Key> {
  key: K;
  /** The name that the settings gave the payload, if any. */
  name: string | null;
  cachedAt: number;
  expiresAt: number;
  /** The payload in the stored form that the payload handler produced. */
  payload: StoredPayload;
  /** The status the origin sent, when the entry was saved from a response. */
  status: number | null;
  /** The headers the origin sent, as JSON text of `[name, value]` pairs, when saved from a response. */
  headers: string | null;
  /** The URL of the response, when saved from a response. */
  url: string | null;
  /**
   * What the session's HTTP rules computed when the response was stored (JSON text, opaque to the
   * backend, which stores it verbatim), or `null`.
   */
  meta: string | null;
}
