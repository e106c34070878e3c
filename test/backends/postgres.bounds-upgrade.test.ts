/**
 * Bounds of the PostgreSQL backend beyond the conformance suite: what an entry's metadata counts
 * for, the books kept once per statement, and a store whose books the first release made (row
 * triggers, sizes without `meta`) taken over in place.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  type CacheEntry,
  defineSettings,
  ENTRY_OVERHEAD,
  type Key,
  PostgresCache,
  type PostgresCacheOptions,
} from "../../src/index.js";
import { openBoundedV1 } from "../fixtures/postgres-bounds-v1.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, sql, testSchema } from "../helpers/postgres.js";

const skip = await postgresUnavailable();
if (skip) console.warn(`[postgres bounds upgrade] skipping: ${skip}`);

const START = Date.UTC(2026, 0, 31, 12, 0, 0);
const settings = () => defineSettings({ name: "pages", fields: ["id"], getKey: () => [null] });
const key = (id: string): Key => ["GET", id];

/** An entry with every column filled: name, URL, headers and metadata. */
function entry(id: string, at: number, meta: string | null = `{"etag":"\\"${id}\\"","vary":[]}`): CacheEntry {
  return {
    key: key(id),
    name: `page ${id}`,
    cachedAt: at,
    expiresAt: at + 86_400_000,
    payload: `payload of ${id} `.repeat(10),
    status: 200,
    headers: JSON.stringify([
      ["content-type", "text/plain"],
      ["etag", `"${id}"`],
    ]),
    url: `https://example.com/${id}`,
    meta,
  };
}

/** Each entry's bytes as this release counts them (with `meta`) and as the first release did (without). */
async function sizes(schema: string): Promise<Map<string, { withMeta: number; withoutMeta: number }>> {
  const rows = await sql<[string, string, string]>(
    `SELECT "id", (${ENTRY_OVERHEAD} + octet_length("key_json") + coalesce(octet_length("payload"), 0) + ` +
      `coalesce(octet_length("payload_bytes"), 0) + coalesce(octet_length("url"), 0) + coalesce(octet_length("name"), 0) + ` +
      `coalesce(octet_length("headers"::text), 0))::text, coalesce(octet_length("meta"), 0)::text ` +
      `FROM "${schema}"."pages"`,
  );
  return new Map(
    rows.map(([id, base, meta]) => [id, { withoutMeta: Number(base), withMeta: Number(base) + Number(meta) }]),
  );
}

/** What the books say, per table and in the lru rows, beside what the table holds. */
async function books(schema: string) {
  const [[entries, bytes, lruEntries, lruBytes, held]] = (await sql(
    `SELECT u."entries"::int, u."bytes"::int, (SELECT count(*)::int FROM "${schema}"."requestful_lru"), ` +
      `(SELECT coalesce(sum("size"), 0)::int FROM "${schema}"."requestful_lru"), (SELECT count(*)::int FROM "${schema}"."pages") ` +
      `FROM "${schema}"."requestful_usage" AS u WHERE u."tbl" = 'pages'`,
  )) as [[number, number, number, number, number]];
  return { entries, bytes, lruEntries, lruBytes, held };
}

async function triggers(schema: string): Promise<[string, boolean][]> {
  return sql<[string, boolean]>(
    `SELECT tgname::text, (tgtype & 1) = 1 FROM pg_catalog.pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal ORDER BY 1`,
    [`"${schema}"."pages"`],
  );
}

describe.skipIf(skip !== undefined)("postgres bounds: sizes and books", () => {
  const schemas: string[] = [];
  const caches: PostgresCache[] = [];

  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
    for (const schema of schemas.splice(0)) await dropSchema(schema);
  });

  async function open(schema: string, options: PostgresCacheOptions = {}): Promise<[PostgresCache, AnyRepository]> {
    const cache = PostgresCache.connect(POSTGRES_URL, { schema, now: () => START, timeout: 10_000, ...options });
    caches.push(cache);
    const repo = cache.createRepository(settings()) as AnyRepository;
    await cache.connect();
    return [cache, repo];
  }

  function newSchema(): string {
    const schema = testSchema("bounds_upgrade");
    schemas.push(schema);
    return schema;
  }

  it("counts an entry's metadata in its size", async () => {
    const schema = newSchema();
    const [cache, repo] = await open(schema, { maxEntries: 100 });
    await repo.saveEntries([entry("a", START), entry("b", START, null)]);
    const expected = await sizes(schema);
    const a = expected.get("a");
    const b = expected.get("b");
    expect(a && a.withMeta > a.withoutMeta).toBe(true);
    expect(b?.withMeta).toBe(b?.withoutMeta);
    expect(await cache.usage()).toEqual({ entries: 2, bytes: (a?.withMeta ?? 0) + (b?.withMeta ?? 0) });
  });

  it("does not store an entry whose metadata takes it over maxBytes, and evicts nothing for it", async () => {
    const schema = newSchema();
    const [cache, repo] = await open(schema, { maxBytes: 4_000 });
    await repo.saveEntries([entry("a", START), entry("b", START + 1)]);
    const before = await cache.usage();
    const withoutMeta = entry("big", START + 2, null);
    withoutMeta.payload = "x".repeat(3_000);
    await repo.saveEntries([withoutMeta]);
    expect(await repo.count()).toBe(3);
    await repo.deleteResponses([key("big")]);
    expect(await cache.usage()).toEqual(before);
    // The same entry with 1 KB of metadata is over the bound, by its metadata alone.
    await repo.saveEntries([{ ...withoutMeta, meta: JSON.stringify({ note: "m".repeat(1_000) }) }]);
    expect(await repo.contains(key("big"))).toBe(false);
    expect(await repo.count()).toBe(2);
    expect(await cache.usage()).toEqual(before);
  });

  it("keeps the books once per statement: bulk writes, overwrites, deletes and evictions of many at once", async () => {
    const schema = newSchema();
    const [cache, repo] = await open(schema, { maxEntries: 300 });
    const many = (prefix: string, count: number, at: number) =>
      Array.from({ length: count }, (_, i) => entry(`${prefix}${i}`, at + i));
    await repo.saveEntries(many("a", 200, START));
    await repo.saveEntries([...many("a", 50, START + 1_000), ...many("b", 50, START + 2_000)]);
    await repo.saveEntries(many("c", 120, START + 3_000)); // 370 entries: the 70 least recently used go
    expect(await repo.count()).toBe(300);
    expect(await repo.contains(key("a50"))).toBe(false);
    expect(await repo.contains(key("a119"))).toBe(false);
    expect(await repo.contains(key("a120"))).toBe(true);
    expect(await repo.contains(key("a0"))).toBe(true); // overwritten later: used later
    await repo.deleteResponses([key("a0"), key("b1"), key("missing")]);
    const state = await books(schema);
    const expected = [...(await sizes(schema)).values()].reduce((sum, size) => sum + size.withMeta, 0);
    expect(state).toEqual({ entries: 298, bytes: expected, lruEntries: 298, lruBytes: expected, held: 298 });
    expect(await cache.usage()).toEqual({ entries: 298, bytes: expected });
  });

  it("evicts from several tables in one write, and drops the books of entries whose rows are gone", async () => {
    const schema = newSchema();
    const [cache, pages] = await open(schema, { maxEntries: 4 });
    const others = cache.createRepository(defineSettings({ name: "others", fields: ["id"], getKey: () => [null] }));
    await others.create();
    await pages.saveEntries([entry("p0", START)]);
    await others.saveEntries([entry("o0", START + 1)]);
    await pages.saveEntries([entry("p1", START + 2)]);
    await others.saveEntries([entry("o1", START + 3)]);
    // Three new entries: p0, o0 and p1 go, from both tables, in one eviction.
    await pages.saveEntries([entry("p2", START + 4), entry("p3", START + 5), entry("p4", START + 6)]);
    expect(await pages.count()).toBe(3);
    expect(await others.count()).toBe(1);
    expect(await others.contains(key("o1"))).toBe(true);
    expect(await cache.usage()).toMatchObject({ entries: 4 });

    // A row removed behind the books' back (triggers off) is still counted, until eviction reaches it.
    await sql(
      `SET session_replication_role = replica; DELETE FROM "${schema}"."others"; RESET session_replication_role`,
    );
    expect(await cache.usage()).toMatchObject({ entries: 4 });
    await pages.saveEntries([entry("p5", START + 7)]);
    expect(await cache.usage()).toMatchObject({ entries: 4 });
    expect(await pages.count()).toBe(4);
    const [lru] = await sql<[number]>(`SELECT count(*)::int FROM "${schema}"."requestful_lru"`);
    expect(lru?.[0]).toBe(4);
    const held = [...(await sizes(schema)).values()].reduce((sum, size) => sum + size.withMeta, 0);
    expect(await cache.usage()).toEqual({ entries: 4, bytes: held });
  });

  it("takes over a store whose books the first release made, keeping the sizes it counted", async () => {
    const schema = newSchema();
    // The table as the current release makes it, with entries; then the first release's books.
    const [, plain] = await open(schema);
    await plain.saveEntries([entry("old0", START), entry("old1", START + 1), entry("old2", START + 2)]);
    await openBoundedV1(schema, "pages");
    await plain.saveEntries([entry("old3", START + 3)]); // counted by the row trigger
    await caches.splice(0)[0]?.close();
    const old = await sizes(schema);
    const oldBytes = [...old.values()].reduce((sum, size) => sum + size.withoutMeta, 0);
    expect(await books(schema)).toMatchObject({ entries: 4, bytes: oldBytes });
    expect(await triggers(schema)).toEqual([
      ["requestful_bounds_lock", false],
      ["requestful_bounds_row", true],
    ]);

    const [cache, repo] = await open(schema, { maxEntries: 5 });
    // Upgraded in place: statement triggers, the index in the order of eviction, the same books.
    expect(await triggers(schema)).toEqual([
      ["requestful_bounds_delete", false],
      ["requestful_bounds_lock", false],
      ["requestful_bounds_row", false],
      ["requestful_bounds_update", false],
    ]);
    const indexes = await sql<[string]>("SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 ORDER BY 1", [
      schema,
    ]);
    expect(indexes.map(([name]) => name)).toContain("requestful_lru_order");
    expect(indexes.map(([name]) => name)).not.toContain("requestful_lru_used_at");
    expect(await cache.usage()).toEqual({ entries: 4, bytes: oldBytes });

    // An old entry leaves with the size it came in with; new ones count their metadata.
    await repo.deleteResponses([key("old1")]);
    await repo.saveEntries([entry("new0", START + 10), entry("new1", START + 11)]);
    await repo.saveEntries([entry("old3", START + 12)]); // overwritten: now counted with its metadata
    const now = await sizes(schema);
    const counted = (id: string) =>
      ["old0", "old2"].includes(id) ? (now.get(id)?.withoutMeta ?? 0) : (now.get(id)?.withMeta ?? 0);
    let expected = [...now.keys()].reduce((sum, id) => sum + counted(id), 0);
    expect(await cache.usage()).toEqual({ entries: 5, bytes: expected });

    // Eviction goes on in the order of use: old0 and old2 leave first, with the sizes they were counted with.
    await repo.saveEntries([entry("new2", START + 20), entry("new3", START + 21)]);
    expect((await repo.getEntries(["old0", "old2", "old3"].map(key))).map((found) => found !== undefined)).toEqual([
      false,
      false,
      true,
    ]);
    const after = await sizes(schema);
    expected = [...after.values()].reduce((sum, size) => sum + size.withMeta, 0);
    expect(await books(schema)).toEqual({ entries: 5, bytes: expected, lruEntries: 5, lruBytes: expected, held: 5 });
  });

  it("stays exact when a cache of the first release opens the schema after the upgrade", async () => {
    const schema = newSchema();
    const [cache, repo] = await open(schema, { maxEntries: 4 });
    await repo.saveEntries([entry("a", START), entry("b", START + 1)]);
    // It replaces the functions with its own, and installs its row trigger only where no trigger has its name.
    await openBoundedV1(schema, "pages");
    expect(await triggers(schema)).toEqual([
      ["requestful_bounds_delete", false],
      ["requestful_bounds_lock", false],
      ["requestful_bounds_row", false],
      ["requestful_bounds_update", false],
    ]);
    await repo.saveEntries([entry("c", START + 2), entry("d", START + 3), entry("a", START + 4)]);
    await repo.saveEntries([entry("e", START + 5)]); // evicts "b", by the first release's function
    expect(await repo.contains(key("b"))).toBe(false);
    const held = [...(await sizes(schema)).values()].reduce((sum, size) => sum + size.withMeta, 0);
    expect(await books(schema)).toEqual({ entries: 4, bytes: held, lruEntries: 4, lruBytes: held, held: 4 });
    // Opened again by this release: its own functions are back, and the books are still right.
    const [again, repoAgain] = await open(schema, { maxEntries: 4 });
    await repoAgain.saveEntries([entry("f", START + 6)]);
    expect(await repoAgain.contains(key("c"))).toBe(false);
    const now = [...(await sizes(schema)).values()].reduce((sum, size) => sum + size.withMeta, 0);
    expect(await again.usage()).toEqual({ entries: 4, bytes: now });
    expect(await cache.usage()).toEqual({ entries: 4, bytes: now });
  });
});
