import { CacheError } from "../../../errors.js";
import type { StoredPayload } from "../../../payload/handler.js";
import type { Key } from "../../../types.js";
import type { CacheEntry } from "../../entry.js";

/**
 * The value of an entry's key, as bytes:
 *
 * ```
 * T1769860800000,1770465600000\n<payload>
 * B1769860800000,1770465600000,["Song",200,"[[\"content-type\",\"application/json\"]]","https://…"]\n<payload>
 * ```
 *
 * A marker byte says how the payload is stored (`T` UTF-8 text, `B` raw bytes); then `cachedAt` and
 * `expiresAt`; then, unless all of them are null, `[name, status, headers, url, meta]` as JSON with every
 * character beyond ASCII escaped; a line feed; then the payload exactly as stored. The fields never
 * hold a raw line feed, so the first one ends them. Values written before `meta` existed have four
 * fields, and read back with `meta` null.
 */
const TEXT = 0x54; // "T"
const BYTES = 0x42; // "B"
const LINE_FEED = 0x0a;
const COMMA = 0x2c;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

type Extra = [
  name: string | null,
  status: number | null,
  headers: string | null,
  url: string | null,
  meta?: string | null,
];

/**
 * The stored value of an entry, as bytes: commands made of buffers are written to the socket
 * without building one large string first.
 */
export function encodeEntry(entry: CacheEntry): Buffer {
  let head = `${entry.cachedAt},${entry.expiresAt}`;
  const meta = entry.meta ?? null;
  if (entry.name !== null || entry.status !== null || entry.headers !== null || entry.url !== null || meta !== null) {
    const extra: Extra =
      meta === null
        ? [entry.name, entry.status, entry.headers, entry.url]
        : [entry.name, entry.status, entry.headers, entry.url, meta];
    head += `,${asciiJson(extra)}`;
  }
  const { payload } = entry;
  if (typeof payload === "string") return Buffer.from(`T${head}\n${payload}`, "utf8");
  const start = Buffer.from(`B${head}\n`, "latin1");
  return Buffer.concat([start, payload], start.length + payload.byteLength);
}

/** An entry read back, or `undefined` when it is no longer live at `now`. */
export function decodeEntry<K extends Key>(key: K, value: Buffer, now: number): CacheEntry<K> | undefined {
  const end = endOfFields(value);
  const firstComma = value.indexOf(COMMA, 1);
  if (firstComma < 0 || firstComma > end) throw unreadable();
  const expiresAt = expiryOf(value, firstComma, end);
  if (!(now < expiresAt)) return undefined;
  const secondComma = value.indexOf(COMMA, firstComma + 1);
  const hasExtra = secondComma >= 0 && secondComma < end;
  const extra = hasExtra ? parseExtra(value, secondComma + 1, end) : undefined;
  return {
    key,
    name: extra?.[0] ?? null,
    cachedAt: readNumber(value, 1, firstComma),
    expiresAt,
    payload: payloadOf(value, end),
    status: extra?.[1] ?? null,
    headers: extra?.[2] ?? null,
    url: extra?.[3] ?? null,
    meta: extra?.[4] ?? null,
  };
}

/** The payload of a stored value, or `undefined` when the entry is no longer live at `now`. */
export function decodePayload(value: Buffer, now: number): StoredPayload | undefined {
  const end = endOfFields(value);
  return now < expiryOf(value, value.indexOf(COMMA, 1), end) ? payloadOf(value, end) : undefined;
}

/** Whether a stored value is live at `now`. */
export function isLive(value: Buffer, now: number): boolean {
  const end = endOfFields(value);
  return now < expiryOf(value, value.indexOf(COMMA, 1), end);
}

function endOfFields(value: Buffer): number {
  const marker = value[0];
  const end = value.indexOf(LINE_FEED);
  if (end < 0 || (marker !== TEXT && marker !== BYTES)) throw unreadable();
  return end;
}

/** `expiresAt`: the number after the first comma, up to the next comma or the end of the fields. */
function expiryOf(value: Buffer, firstComma: number, end: number): number {
  if (firstComma < 0 || firstComma > end) throw unreadable();
  const next = value.indexOf(COMMA, firstComma + 1);
  return readNumber(value, firstComma + 1, next >= 0 && next < end ? next : end);
}

/** A number written by `String(number)`: digits are read in place, anything else through `Number`. */
function readNumber(value: Buffer, start: number, stop: number): number {
  let number = 0;
  for (let i = start; i < stop; i++) {
    const byte = value[i] as number;
    if (byte < DIGIT_0 || byte > DIGIT_9) return parsedNumber(value.toString("latin1", start, stop));
    number = number * 10 + (byte - DIGIT_0);
  }
  if (stop <= start) throw unreadable();
  return number;
}

function parsedNumber(text: string): number {
  const number = Number(text);
  if (text.length === 0 || Number.isNaN(number)) throw unreadable();
  return number;
}

function parseExtra(value: Buffer, start: number, end: number): Extra {
  let extra: unknown;
  try {
    // The JSON is ASCII (see asciiJson), so Latin-1 decodes it exactly.
    extra = JSON.parse(value.toString("latin1", start, end));
  } catch (cause) {
    throw unreadable(cause);
  }
  if (!Array.isArray(extra) || extra.length < 4 || extra.length > 5) throw unreadable();
  return extra as Extra;
}

/** JSON with every character beyond ASCII escaped, so that its bytes read back as Latin-1 exactly. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u0080-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function payloadOf(value: Buffer, end: number): StoredPayload {
  // Bytes are copied: a reply buffer may share memory with other replies.
  return value[0] === TEXT ? value.toString("utf8", end + 1) : new Uint8Array(value.subarray(end + 1));
}

function unreadable(cause?: unknown): CacheError {
  return new CacheError(
    "a Redis entry under this prefix is not in the format this release writes; clear the repository or use another prefix",
    cause === undefined ? undefined : { cause },
  );
}
