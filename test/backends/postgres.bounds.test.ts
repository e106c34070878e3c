/** Bounds of the PostgreSQL backend: the conformance suite, in a schema of its own per test. */
import { keyJson } from "../../src/cache/backends/postgres/sql.js";
import { ENTRY_OVERHEAD, PostgresCache } from "../../src/index.js";
import { describeBoundsConformance } from "../conformance/bounds.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, testSchema } from "../helpers/postgres.js";

const skip = await postgresUnavailable();
let schema = testSchema("bounds");
const shared = testSchema("bounds_shared");

const bytes = (text: string | null) => (text === null ? 0 : Buffer.byteLength(text));

describeBoundsConformance({
  name: "postgres",
  skip,
  makeCache: async (options) => PostgresCache.connect(POSTGRES_URL, { ...options, schema, timeout: 10_000 }),
  location: async () => ({ value: POSTGRES_URL, options: { schema: shared, timeout: 10_000 } }),
  cleanup: async () => {
    await dropSchema(schema);
    await dropSchema(shared);
    schema = testSchema("bounds");
  },
  // Bounded writes take one advisory lock per schema in turn, and evict before they commit.
  slack: { entries: 0, bytes: 0 },
  // PostgreSQL counts the key as its JSON text, headers as jsonb prints them, and the metadata.
  sizeOf: (entry) =>
    ENTRY_OVERHEAD +
    bytes(keyJson(entry.key)) +
    (typeof entry.payload === "string" ? bytes(entry.payload) : entry.payload.byteLength) +
    bytes(entry.url) +
    bytes(entry.name) +
    bytes(entry.headers === null ? null : jsonbText(JSON.parse(entry.headers))) +
    bytes(entry.meta),
});

/** JSON as PostgreSQL prints a `jsonb` of arrays and strings: a space after each comma. */
function jsonbText(value: unknown): string {
  return Array.isArray(value) ? `[${value.map(jsonbText).join(", ")}]` : JSON.stringify(value);
}
