import { createHash } from "node:crypto";
import { CacheError } from "../../../errors.js";
import type { Key, KeyPart } from "../../../types.js";
import { keyId } from "../../key.js";

/** The schema version that this release writes and reads, kept in the schema's `requestful_meta` table. */
export const SCHEMA_VERSION = 1;
/** The schema that a PostgreSQL cache uses unless told otherwise. */
export const DEFAULT_SCHEMA = "requestful";
/** Holds `schema_version`. */
export const META_TABLE = "requestful_meta";
/** Lists the repositories of a schema: name, table, fields and the columns that hold them. */
export const REGISTRY_TABLE = "requestful_tables";
/** Table names that start with this (in any case) are kept for the backend. */
export const RESERVED_PREFIX = "requestful_";

/** PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN - 1) and drops the rest. */
export const MAX_IDENTIFIER_BYTES = 63;

/** Columns that the backend adds beside the key fields; a field may not take one of these names. */
export const INTERNAL_COLUMNS = ["payload_bytes", "payload_is_text", "key_json", "key_digest"] as const;

/** PostgreSQL's limit on the parameters of one statement. */
export const MAX_PARAMETERS = 65_535;
/** Keys per statement for reads and deletes (all of them in one array parameter). */
export const KEYS_PER_STATEMENT = 20_000;
/** Payload bytes per write statement, so that one statement never grows without bound. */
export const BYTES_PER_STATEMENT = 32 * 1024 * 1024;

const UTF8 = new TextEncoder();

/** Quotes an identifier: any text without NUL is safe inside double quotes with quotes doubled. */
export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** `"schema"."name"` */
export function qualified(schema: string, name: string): string {
  return `${quote(schema)}.${quote(name)}`;
}

/** A short hex digest of text, for names and statement identifiers. */
export function shortHash(text: string, length = 10): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/**
 * The identifier that PostgreSQL will keep for a name: the name itself when it fits in 63 bytes of
 * UTF-8; otherwise as many whole characters as fit in 52 bytes, `~`, and 10 hex digits of the
 * SHA-256 of the full name. The mapping is deterministic, so every process finds the same table.
 */
export function fitIdentifier(name: string): string {
  if (UTF8.encode(name).length <= MAX_IDENTIFIER_BYTES) return name;
  const budget = MAX_IDENTIFIER_BYTES - 11;
  let prefix = "";
  let bytes = 0;
  for (const char of name) {
    const size = UTF8.encode(char).length;
    if (bytes + size > budget) break;
    prefix += char;
    bytes += size;
  }
  return `${prefix}~${shortHash(name)}`;
}

/** Refuses a repository name that this backend keeps for its own tables. */
export function checkTableName(name: string): void {
  if (name.toLowerCase().startsWith(RESERVED_PREFIX)) {
    throw new CacheError(
      `the PostgreSQL backend keeps table names that start with "${RESERVED_PREFIX}" for itself; rename repository "${name}"`,
    );
  }
}

/** Refuses a schema name that PostgreSQL would refuse or shorten. */
export function checkSchemaName(schema: unknown): string {
  if (typeof schema !== "string" || schema.length === 0 || schema.includes("\0")) {
    throw new TypeError(`schema must be a non-empty string without NUL, got ${JSON.stringify(schema)}`);
  }
  if (UTF8.encode(schema).length > MAX_IDENTIFIER_BYTES) {
    throw new RangeError(`schema must fit in ${MAX_IDENTIFIER_BYTES} bytes of UTF-8, got ${JSON.stringify(schema)}`);
  }
  if (schema.toLowerCase().startsWith("pg_")) {
    throw new RangeError(`schema names that start with "pg_" are kept by PostgreSQL, got ${JSON.stringify(schema)}`);
  }
  return schema;
}

/** The exact identity of a key, as stored in `key_json`. */
export function keyJson(key: Key): string {
  return keyId(key);
}

/**
 * The text of a key part as its readable column shows it. `text` cannot hold U+0000, so NUL
 * becomes U+FFFD there; the exact key is kept in `key_json`.
 */
export function readablePart(part: KeyPart): string {
  return typeof part === "string" ? withoutNul(part) : String(part);
}

/** Text that a `text` column can hold: U+0000 replaced by U+FFFD. */
export function withoutNul(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text;
}

/** A URL that a `text` column can hold: NUL percent-encoded, as a URL parser would. */
export function urlWithoutNul(url: string): string {
  return url.includes("\0") ? url.replaceAll("\0", "%00") : url;
}

/**
 * An instant in epoch milliseconds as `timestamptz` input text, to the microsecond (PostgreSQL's
 * precision), so that whole milliseconds round-trip exactly.
 */
export function toTimestamp(ms: number): string {
  // A bulk write gives every entry the same instants: convert each once.
  if (ms === lastInstant.ms) return lastInstant.text;
  const text = formatTimestamp(ms);
  lastInstant = { ms, text };
  return text;
}

let lastInstant = { ms: Number.NaN, text: "" };

function formatTimestamp(ms: number): string {
  let whole = Math.floor(ms);
  let micros = Math.round((ms - whole) * 1000);
  if (micros === 1000) {
    whole += 1;
    micros = 0;
  }
  const date = new Date(whole);
  if (!Number.isFinite(ms) || Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1) {
    throw new RangeError(`an instant must fall between the years 1 and 275760, got ${ms} ms`);
  }
  let iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ, or +YYYYYY-… after the year 9999
  if (iso.startsWith("+")) iso = iso.slice(1).replace(/^0+(?=\d{5})/, "");
  return micros === 0 ? iso : `${iso.slice(0, -1)}${String(micros).padStart(3, "0")}Z`;
}

/** A 32-bit lock id for a schema, for `pg_advisory_xact_lock`, so that set-up runs one process at a time. */
export function schemaLockId(schema: string): number {
  return createHash("sha256").update(`requestful:${schema}`).digest().readInt32BE(0);
}

/** A constant first half of the advisory lock key, so that these locks stay apart from the application's. */
export const LOCK_CLASS = 0x72716675; // "rqfu"

/** Splits items into runs of at most `size`. */
export function* chunks<T>(items: readonly T[], size: number): Generator<readonly T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
