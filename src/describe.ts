/** Describes a value for an error message: its type, and a short preview where that helps. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  switch (typeof value) {
    case "string":
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case "number":
    case "boolean":
    case "bigint":
      return `a ${typeof value} (${String(value)})`;
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default: {
      const name = Object.getPrototypeOf(value)?.constructor?.name as string | undefined;
      return Array.isArray(value) ? `an array of ${value.length}` : `an object (${name ?? "null prototype"})`;
    }
  }
}
