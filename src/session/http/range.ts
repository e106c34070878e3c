/** Answering a byte range from a stored complete response (RFC 9110 §14, RFC 9111 §3.4). */

/** One satisfiable byte range: `start` to `end`, both included. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/i;

/**
 * The byte range a `Range` field asks of a representation of `length` bytes (RFC 9110 §14.1.2):
 * `bytes=a-b`, `bytes=a-` or `bytes=-n`. `undefined` for anything else (several ranges, another
 * unit, a range that cannot be satisfied), which the cache leaves to the origin.
 */
export function byteRange(value: string, length: number): ByteRange | undefined {
  const match = SINGLE_RANGE.exec(value.trim());
  if (match === null) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "") {
    if (last === "") return undefined;
    const suffix = Number(last);
    if (suffix === 0 || length === 0) return undefined;
    return { start: Math.max(0, length - suffix), end: length - 1 };
  }
  const start = Number(first);
  const end = last === "" ? length - 1 : Math.min(Number(last), length - 1);
  if (start >= length || end < start) return undefined;
  return { start, end };
}

/** The Content-Range of a part (RFC 9110 §14.4). */
export function contentRange(range: ByteRange, length: number): string {
  return `bytes ${range.start}-${range.end}/${length}`;
}
