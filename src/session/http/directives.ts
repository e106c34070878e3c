/**
 * Field grammar of RFC 9110 §5.6, parsed strictly: lists (§5.6.1), tokens (§5.6.2), quoted strings
 * (§5.6.4) and the `Cache-Control` directives of RFC 9111 §5.2 built on them.
 */

/** Directives by lower-cased name: the argument (unquoted), or `null` for a directive without one. */
export type Directives = ReadonlyMap<string, string | null>;

export const NO_DIRECTIVES: Directives = new Map();

/** tchar (RFC 9110 §5.6.2). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Splits a list value on the commas that are not inside a quoted string (RFC 9110 §5.6.1), trimming
 * optional whitespace and dropping empty members.
 */
export function splitList(value: string): string[] {
  const members: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x2c /* , */) {
      pushMember(members, value.slice(start, i));
      start = i + 1;
    }
  }
  pushMember(members, value.slice(start));
  return members;
}

function pushMember(members: string[], member: string): void {
  const trimmed = member.trim();
  if (trimmed !== "") members.push(trimmed);
}

/** The content of a quoted-string (RFC 9110 §5.6.4) with its quoted-pairs resolved, or `undefined`. */
function unquote(text: string): string | undefined {
  if (text.length < 2 || text[0] !== '"' || text[text.length - 1] !== '"') return undefined;
  let out = "";
  for (let i = 1; i < text.length - 1; i++) {
    let c = text[i] as string;
    if (c === "\\") {
      i++;
      if (i >= text.length - 1) return undefined;
      c = text[i] as string;
    } else if (c === '"') {
      return undefined;
    }
    out += c;
  }
  return out;
}

/**
 * Parses `Cache-Control` field values (RFC 9111 §5.2: `cache-directive = token [ "=" ( token /
 * quoted-string ) ]`). Names are case-insensitive; a member that does not follow the grammar (a
 * space around `=`, a single-quoted argument) is ignored; when a directive comes twice the first
 * one counts (RFC 9111 §4.2.1).
 */
export function parseCacheControl(value: string | null): Directives {
  if (value === null || value === "") return NO_DIRECTIVES;
  const directives = new Map<string, string | null>();
  for (const member of splitList(value)) {
    const equals = member.indexOf("=");
    const name = (equals < 0 ? member : member.slice(0, equals)).toLowerCase();
    if (!TOKEN.test(name) || directives.has(name)) continue;
    if (equals < 0) {
      directives.set(name, null);
      continue;
    }
    const raw = member.slice(equals + 1);
    const argument = TOKEN.test(raw) ? raw : unquote(raw);
    if (argument !== undefined) directives.set(name, argument);
  }
  return directives;
}

/** The largest delta-seconds a cache must be able to use (RFC 9111 §1.2.2). */
export const MAX_DELTA_SECONDS = 2147483648;

/**
 * A delta-seconds argument (RFC 9111 §1.2.2: `1*DIGIT`), capped at 2^31; `undefined` when the
 * argument is missing or is not digits alone.
 */
export function deltaSeconds(argument: string | null | undefined): number | undefined {
  if (argument === null || argument === undefined || !/^\d+$/.test(argument)) return undefined;
  const seconds = Number(argument);
  return Math.min(seconds, MAX_DELTA_SECONDS);
}

/** Field names of a list (Vary, Connection, no-cache="…"), lower-cased; `*` kept as it is. */
export function fieldNames(value: string): string[] {
  const names: string[] = [];
  for (const member of splitList(value)) if (member === "*" || TOKEN.test(member)) names.push(member.toLowerCase());
  return names;
}

/** An sf-dictionary member (RFC 8941 §3.2): a key, then a bare item or a boolean, then parameters. */
const SF_MEMBER =
  /^[a-z*][a-z0-9_\-.*]*(?:=(?:-?\d{1,15}(?:\.\d{1,3})?|"(?:[ !#-[\]-~]|\\["\\])*"|[A-Za-z*][!#$%&'*+\-.^_`|~:/0-9A-Za-z]*|:[A-Za-z0-9+/=]*:|\?[01]))?(?:;.*)?$/;

/**
 * Parses `CDN-Cache-Control` (RFC 9213 §2.1): a Structured Field Dictionary (RFC 8941) of the same
 * directives. A value that is not a valid dictionary makes the whole field ignored (`undefined`); a
 * `max-age` or `s-maxage` that is not an integer is ignored.
 */
export function parseCdnCacheControl(value: string | null): Directives | undefined {
  if (value === null) return undefined;
  const members = splitList(value);
  if (members.length === 0 || !members.every((member) => SF_MEMBER.test(member))) return undefined;
  // Only integers are durations: a string, a decimal or a token in max-age or s-maxage is ignored.
  const kept = members.filter((member) => !/^(?:max-age|s-maxage)(?:=(?!\d+(?:;|$))|;|$)/.test(member));
  return parseCacheControl(kept.map((member) => member.split(";")[0]).join(", "));
}
