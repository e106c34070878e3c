/** Read access to header fields, from a `Headers` or from stored `[name, value]` pairs. */

/** What the rules read of a message's fields: the combined value of a field, or `null`. */
export interface Fields {
  get(name: string): string | null;
}

export type Pairs = readonly (readonly [string, string])[];

/** Fields over `[name, value]` pairs: lines of one name combined with `, ` (RFC 9110 §5.3). */
export function pairFields(pairs: Pairs): Fields {
  return {
    get(name: string): string | null {
      let value: string | null = null;
      for (const [key, line] of pairs) {
        if (key.length === name.length && key.toLowerCase() === name)
          value = value === null ? line : `${value}, ${line}`;
      }
      return value;
    },
  };
}
