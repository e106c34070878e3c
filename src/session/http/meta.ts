/**
 * What the session stores beside a response for the HTTP rules, computed once when the response is
 * stored, so that a hit decides without parsing the stored headers: compact JSON in
 * `CacheEntry.meta`.
 */
import { TextMemo } from "../text-memo.js";
import type { VaryValues } from "./vary.js";

/** Flags of a stored response, as bits. */
export const Flag = {
  /** `no-cache` (RFC 9111 §5.2.2.4): every use is validated first. */
  NoCache: 1,
  /** `must-revalidate`, or in a shared cache `proxy-revalidate` / `s-maxage` (§5.2.2.2, §5.2.2.8, §5.2.2.10). */
  MustRevalidate: 2,
  /** `immutable` (RFC 8246). */
  Immutable: 4,
  /** The response has an `ETag` or a `Last-Modified`: it can be validated (§4.3.1). */
  Validator: 8,
  /** The lifetime is heuristic (§4.2.2). */
  Heuristic: 16,
  /** The freshness was set by the user (a URL rule or the request's own `expire`): `expiresAt` decides it. */
  Override: 32,
} as const;

/** The stored metadata (short names: it is written with every entry). */
export interface Meta {
  /** Format version. */
  readonly v: 1;
  /** response_time (RFC 9111 §4.2.3), epoch milliseconds. */
  readonly r: number;
  /** corrected_initial_age (§4.2.3), milliseconds. */
  readonly a: number;
  /** The freshness lifetime (§4.2.1), milliseconds. */
  readonly l: number;
  /** {@link Flag} bits. */
  readonly f: number;
  /** stale-while-revalidate window (RFC 5861 §3), milliseconds; 0 for none. */
  readonly w: number;
  /** stale-if-error window (RFC 5861 §4), milliseconds; 0 for none. */
  readonly e: number;
  /** The request fields the response varies on, with their normalised values (§4.1), or `null`. */
  readonly y: VaryValues | null;
}

export function encodeMeta(meta: Meta): string {
  return JSON.stringify(meta);
}

/** Stored metadata already read, by its text: a hit reads it without parsing it again. */
const decoded = new TextMemo((text: string) => parseMeta(text) ?? null);

/**
 * Reads stored metadata; `undefined` for none or for text this version does not know. The result
 * is frozen and shared by every read of the same text.
 */
export function decodeMeta(text: string | null | undefined): Meta | undefined {
  if (text === null || text === undefined) return undefined;
  return decoded.get(text) ?? undefined;
}

function parseMeta(text: string): Meta | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const meta = parsed as Partial<Meta>;
  if (meta.v !== 1 || typeof meta.r !== "number" || typeof meta.a !== "number" || typeof meta.l !== "number") {
    return undefined;
  }
  return Object.freeze({
    v: 1,
    r: meta.r,
    a: meta.a,
    l: meta.l,
    f: typeof meta.f === "number" ? meta.f : 0,
    w: typeof meta.w === "number" ? meta.w : 0,
    e: typeof meta.e === "number" ? meta.e : 0,
    y: Array.isArray(meta.y) ? meta.y : null,
  });
}
