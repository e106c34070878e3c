/** Vary: which request fields a stored response was selected by (RFC 9111 §4.1). */
import { fieldNames, splitList } from "./directives.js";
import type { Fields } from "./fields.js";

/** The request fields a response varies on, each with its normalised value (`null` when absent). */
export type VaryValues = readonly (readonly [string, string | null])[];

/** Fields whose members are case-insensitive and whose order carries no meaning to the cache. */
const UNORDERED: ReadonlySet<string> = new Set(["accept", "accept-charset", "accept-encoding", "accept-language"]);

/**
 * A request field's value normalised as RFC 9111 §4.1 allows: the lines combined, members of the
 * list trimmed of whitespace; the Accept-* fields also lower-cased and put in order.
 */
export function normaliseField(name: string, value: string | null): string | null {
  if (value === null) return null;
  const members = splitList(value);
  if (UNORDERED.has(name))
    return members
      .map((member) => member.toLowerCase())
      .sort()
      .join(",");
  return members.join(",");
}

/**
 * The values to store for a response's `Vary` (RFC 9111 §4.1): `undefined` when it has none, `"*"`
 * when it varies on something outside the request (such a response never matches a later request).
 */
export function varyValues(vary: string | null, request: Fields | undefined): VaryValues | "*" | undefined {
  if (vary === null) return undefined;
  const names = fieldNames(vary);
  if (names.includes("*")) return "*";
  if (names.length === 0) return undefined;
  const values: [string, string | null][] = [];
  for (const name of new Set(names)) values.push([name, normaliseField(name, request?.get(name) ?? null)]);
  return values;
}

/**
 * Whether a request selects the stored response (RFC 9111 §4.1): every field the response varies
 * on has the same normalised value in the request, absent where it was absent.
 */
export function varyMatches(stored: VaryValues, request: Fields | undefined): boolean {
  for (const [name, value] of stored) {
    if (normaliseField(name, request?.get(name) ?? null) !== value) return false;
  }
  return true;
}
