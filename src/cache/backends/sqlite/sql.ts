import { CacheError } from "../../../errors.js";

/** The schema version that this release writes and reads, kept in the `requestful_meta` table. */
export const SCHEMA_VERSION = 1;
export const META_TABLE = "requestful_meta";

/** SQLite's default limit on bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER). */
export const MAX_PARAMETERS = 32_766;

/** Columns kept beside the key columns, in the order they are written and read. */
export { VALUE_COLUMNS } from "../../repository.js";

/** Value columns that a table written by an earlier release lacks, added in place when it is opened. */
export const ADDED_COLUMNS: readonly (readonly [name: string, type: string])[] = [["meta", "TEXT"]];

/** Quotes an identifier for SQLite: any text is safe inside double quotes with quotes doubled. */
export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** SQLite folds the case of ASCII letters only when it compares identifiers. */
export function foldIdentifier(identifier: string): string {
  return identifier.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** Refuses table names that SQLite keeps for itself or that this backend uses. */
export function checkTableName(name: string): void {
  const folded = foldIdentifier(name);
  if (folded.startsWith("sqlite_")) {
    throw new CacheError(`SQLite keeps table names that start with "sqlite_" for itself; rename repository "${name}"`);
  }
  if (folded.startsWith("requestful_")) {
    throw new CacheError(
      `the SQLite backend keeps table names that start with "requestful_" for itself; rename repository "${name}"`,
    );
  }
}

/** `(?, ?, ?)` for one row of `width` values. */
export function placeholders(width: number): string {
  return `(${Array.from({ length: width }, () => "?").join(", ")})`;
}

/** `(?, ?), (?, ?), …` for `rows` rows. */
export function rowsOfPlaceholders(rows: number, width: number): string {
  const row = placeholders(width);
  return Array.from({ length: rows }, () => row).join(", ");
}

/** Splits items into chunks of at most `size`. */
export function* chunks<T>(items: readonly T[], size: number): Generator<readonly T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
