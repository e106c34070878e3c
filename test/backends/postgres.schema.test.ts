/**
 * What the PostgreSQL backend leaves in the database: the table of each repository, its types and
 * index, the registry and schema version, names that PostgreSQL would shorten, and how many
 * statements a bulk call sends.
 */
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  BytesPayloadHandler,
  CacheError,
  defineSettings,
  JSONPayloadHandler,
  type Key,
  POSTGRES_SCHEMA_VERSION,
  PostgresCache,
  type PostgresCacheOptions,
  type PostgresTable,
  ResponseCache,
  StringPayloadHandler,
} from "../../src/index.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, sql, testSchema } from "../helpers/postgres.js";

const skip = await postgresUnavailable();
if (skip) console.warn(`[postgres schema] skipping: ${skip}`);

const START = Date.UTC(2026, 0, 31, 12, 0, 0);

function tracks(name = "tracks") {
  return defineSettings({
    name,
    fields: ["id", "version"],
    getKey: ({ url }) => {
      const [version, , id] = url.pathname.split("/").slice(1);
      return [id, version];
    },
    getName: (payload: unknown) => (payload as { name?: string }).name,
    payloadHandler: new JSONPayloadHandler(),
  });
}

describe.skipIf(skip !== undefined)("postgres tables", () => {
  const schemas: string[] = [];
  const caches: ResponseCache[] = [];
  const pools: pg.Pool[] = [];

  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
    for (const pool of pools.splice(0)) await pool.end();
    for (const schema of schemas.splice(0)) await dropSchema(schema);
  });

  function newSchema(): string {
    const schema = testSchema("schema");
    schemas.push(schema);
    return schema;
  }

  function open(options: PostgresCacheOptions = {}): PostgresCache {
    const cache = PostgresCache.connect(POSTGRES_URL, { schema: newSchema(), now: () => START, ...options });
    caches.push(cache);
    return cache;
  }

  it("makes a table per repository with typed columns, an index on expires_at and a registry entry", async () => {
    const cache = open();
    const repo = cache.createRepository(tracks());
    await cache.connect();
    const schema = cache.schema;
    expect(repo.tableName).toBe("tracks");
    expect(repo.qualifiedName).toBe(`"${schema}"."tracks"`);

    const columns = await sql<[string, string, string]>(
      "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns " +
        "WHERE table_schema = $1 AND table_name = 'tracks' ORDER BY ordinal_position",
      [schema],
    );
    expect(columns).toEqual([
      ["method", "text", "NO"],
      ["id", "text", "NO"],
      ["version", "text", "NO"],
      ["name", "text", "YES"],
      ["cached_at", "timestamp with time zone", "NO"],
      ["expires_at", "timestamp with time zone", "NO"],
      ["status", "integer", "YES"],
      ["url", "text", "YES"],
      ["headers", "jsonb", "YES"],
      ["payload", "text", "YES"],
      ["payload_bytes", "bytea", "YES"],
      ["payload_is_text", "boolean", "NO"],
      ["meta", "text", "YES"],
      ["key_json", "text", "NO"],
      ["key_digest", "bytea", "NO"],
    ]);
    const indexes = await sql<[string]>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'tracks'",
      [schema],
    );
    const definitions = indexes.map(([definition]) => definition);
    expect(definitions.some((d) => /UNIQUE INDEX .* USING btree \(key_digest\)/.test(d))).toBe(true);
    expect(definitions.some((d) => /INDEX .* USING btree \(expires_at\)/.test(d))).toBe(true);

    expect(await sql(`SELECT "key", "value" FROM "${schema}".requestful_meta`)).toEqual([
      ["schema_version", String(POSTGRES_SCHEMA_VERSION)],
    ]);
    expect(
      await sql(`SELECT repository, table_name, fields::text, key_columns::text FROM "${schema}".requestful_tables`),
    ).toEqual([["tracks", "tracks", "{id,version}", "{method,id,version}"]]);
  });

  it("keeps entries that plain SQL can query: key columns, name, instants, status, headers, URL and JSON payload", async () => {
    const cache = open({ expire: { hours: 1 } });
    const repo = cache.createRepository(tracks());
    await cache.connect();
    const request = new Request("https://api.example.com/v1/tracks/abc");
    const response = new Response(JSON.stringify({ name: "Song", id: "abc" }), {
      status: 203,
      headers: { "content-type": "application/json", etag: '"v1"' },
    });
    await repo.saveResponse({ request, response });

    const [row] = await sql<unknown[]>(
      `SELECT method, id, version, name, cached_at, expires_at, status, url,
              (SELECT h->>1 FROM jsonb_array_elements(headers) h WHERE h->>0 = 'etag'),
              payload::jsonb->>'name', payload_bytes, payload_is_text
       FROM "${cache.schema}".tracks WHERE expires_at > $1`,
      [new Date(START)],
    );
    expect(row).toEqual([
      "GET",
      "abc",
      "v1",
      "Song",
      new Date(START),
      new Date(START + 3_600_000),
      203,
      "https://api.example.com/v1/tracks/abc",
      '"v1"',
      "Song",
      null,
      true,
    ]);
    const entry = await repo.getEntry(request);
    expect(entry?.headers).toBe('[["content-type","application/json"],["etag","\\"v1\\""]]');
  });

  it("keeps the exact key beside readable columns: numbers apart from strings, NUL kept", async () => {
    const cache = open();
    const repo = cache.createRepository(
      defineSettings({
        name: "keys",
        fields: ["part"],
        getKey: () => [null],
        payloadHandler: new StringPayloadHandler(),
      }),
    ) as AnyRepository;
    await cache.connect();
    await repo.saveResponses([
      [["GET", 1], "number"],
      [["GET", "1"], "string"],
      [["GET", "a\u0000b"], "nul"],
      [["GET", -0.25], "fraction"],
    ]);
    const rows = await sql<[string, string]>(`SELECT part, key_json FROM "${cache.schema}".keys ORDER BY payload`);
    expect(rows).toEqual([
      ["-0.25", '["GET",-0.25]'],
      ["a\uFFFDb", '["GET","a\\u0000b"]'],
      ["1", '["GET",1]'],
      ["1", '["GET","1"]'],
    ]);
    expect(await repo.getResponse(["GET", 1])).toBe("number");
    expect(await repo.getResponse(["GET", "1"])).toBe("string");
    expect(await repo.getResponse(["GET", "a\u0000b"])).toBe("nul");
    expect(await repo.getResponse(["GET", "a\uFFFDb"])).toBeUndefined();
    const keys = [];
    for await (const [key] of repo) keys.push(key);
    expect(keys).toContainEqual(["GET", "a\u0000b"]);
    expect(keys).toContainEqual(["GET", 1]);
  });

  it("stores text in payload, and bytes or text holding NUL in payload_bytes", async () => {
    const cache = open();
    const text = cache.createRepository(
      defineSettings({
        name: "text",
        fields: ["id"],
        getKey: () => [null],
        payloadHandler: new StringPayloadHandler(),
      }),
    ) as AnyRepository;
    const bytes = cache.createRepository(
      defineSettings({
        name: "bytes",
        fields: ["id"],
        getKey: () => [null],
        payloadHandler: new BytesPayloadHandler(),
      }),
    ) as AnyRepository;
    await cache.connect();
    await text.saveResponses([
      [["GET", "plain"], "plain text"],
      [["GET", "nul"], "with \u0000 inside"],
    ]);
    await bytes.saveResponse([["GET", "b"], Uint8Array.from([0, 1, 255])]);
    expect(
      await sql(
        `SELECT id, payload, encode(payload_bytes, 'hex'), payload_is_text FROM "${cache.schema}".text ORDER BY id`,
      ),
    ).toEqual([
      ["nul", null, Buffer.from("with \u0000 inside").toString("hex"), true],
      ["plain", "plain text", null, true],
    ]);
    expect(
      await sql(`SELECT payload, encode(payload_bytes, 'hex'), payload_is_text FROM "${cache.schema}".bytes`),
    ).toEqual([[null, "0001ff", false]]);
    expect(await text.getResponse(["GET", "nul"])).toBe("with \u0000 inside");
    expect(Array.from((await bytes.getResponse(["GET", "b"])) as Uint8Array)).toEqual([0, 1, 255]);
  });

  it("keeps instants exact to the millisecond, far into the future too", async () => {
    const cache = open({ expire: { years: 1_000 } });
    const repo = cache.createRepository(tracks()) as AnyRepository;
    await cache.connect();
    await repo.saveResponse([["GET", "a", "v1"], { name: "a" }]);
    const entry = await repo.getEntry(["GET", "a", "v1"]);
    expect(entry?.cachedAt).toBe(START);
    expect(entry?.expiresAt).toBe(Date.UTC(3026, 0, 31, 12, 0, 0));
    const odd = open({ now: () => START + 0.5, expire: 1_000.25 });
    const oddRepo = odd.createRepository(tracks()) as AnyRepository;
    await odd.connect();
    await oddRepo.saveResponse([["GET", "b", "v1"], { name: "b" }]);
    const oddEntry = await oddRepo.getEntry(["GET", "b", "v1"]);
    expect(oddEntry?.cachedAt).toBe(START + 0.5);
    expect(oddEntry?.expiresAt).toBe(START + 1_000.75);
  });

  describe("names", () => {
    it("maps a name longer than 63 bytes to a shortened name with a hash, kept in the registry", async () => {
      const cache = open();
      const long = `${"ü".repeat(40)}-tracks`; // 87 bytes of UTF-8
      const alike = `${"ü".repeat(40)}-albums`;
      const first = cache.createRepository(tracks(long)) as PostgresTable;
      const second = cache.createRepository(tracks(alike)) as PostgresTable;
      await cache.connect();
      expect(Buffer.byteLength(first.tableName)).toBeLessThanOrEqual(63);
      expect(first.tableName).toMatch(/^ü+~[0-9a-f]{10}$/);
      expect(second.tableName).not.toBe(first.tableName);
      await first.saveResponse([["GET", "a", "v1"], { name: "first" }]);
      await second.saveResponse([["GET", "a", "v1"], { name: "second" }]);
      expect(await first.getResponse(["GET", "a", "v1"])).toEqual({ name: "first" });
      expect(await second.count()).toBe(1);
      const registry = await sql(
        `SELECT repository, table_name FROM "${cache.schema}".requestful_tables ORDER BY table_name`,
      );
      expect(registry).toEqual(
        [
          [long, first.tableName],
          [alike, second.tableName],
        ].sort((a, b) => ((a[1] as string) < (b[1] as string) ? -1 : 1)),
      );
      const tables = await sql<[string]>("SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1", [
        cache.schema,
      ]);
      expect(tables.map(([name]) => name)).toEqual(
        [first.tableName, second.tableName, "requestful_meta", "requestful_tables"].sort(),
      );
      // A field name past 63 bytes is shortened the same way.
      const wide = cache.createRepository(
        defineSettings({ name: "wide", fields: ["f".repeat(70), "f".repeat(71)], getKey: () => [null, null] }),
      ) as PostgresTable;
      await wide.create();
      expect(wide.keyColumns[1]).not.toBe(wide.keyColumns[2]);
      await wide.saveResponse([["GET", "x", "y"], "wide"]);
      expect(await wide.getResponse(["GET", "x", "y"])).toBe("wide");
    });

    it("refuses names it keeps for itself, clashing fields, and a bad schema, with clear errors", async () => {
      const cache = open();
      expect(() => cache.createRepository(tracks("requestful_meta"))).toThrow(CacheError);
      expect(() => cache.createRepository(tracks("Requestful_x"))).toThrow(/kept .* for itself|for itself/);
      expect(() =>
        cache.createRepository(defineSettings({ name: "k", fields: ["key_json"], getKey: () => [null] })),
      ).toThrow(/kept for the entry/);
      expect(() => PostgresCache.connect(POSTGRES_URL, { schema: "x".repeat(64) })).toThrow(RangeError);
      expect(() => PostgresCache.connect(POSTGRES_URL, { schema: "pg_cache" })).toThrow(/pg_/);
      expect(() => PostgresCache.connect(POSTGRES_URL, { schema: "" })).toThrow(TypeError);
      expect(() => PostgresCache.connect(POSTGRES_URL, { timeout: 0 })).toThrow(/timeout/);
      expect(() => PostgresCache.connect(POSTGRES_URL, { poolSize: 1.5 })).toThrow(/poolSize/);
      expect(() => PostgresCache.connect("redis://localhost")).toThrow(/postgres:\/\//);
    });

    it("refuses to reuse a repository whose stored fields differ", async () => {
      const first = open();
      first.createRepository(tracks("shared"));
      await first.connect();
      const second = PostgresCache.connect(POSTGRES_URL, { schema: first.schema });
      caches.push(second);
      second.createRepository(defineSettings({ name: "shared", fields: ["id"], getKey: () => [null] }));
      await expect(second.connect()).rejects.toThrow(/with fields \(id, version\) but these settings need \(id\)/);
    });
  });

  describe("schema version", () => {
    it("refuses a schema written by a newer release, and one with an unreadable version", async () => {
      const first = open();
      await first.connect();
      await first.close();
      await sql(`UPDATE "${first.schema}".requestful_meta SET value = '99' WHERE key = 'schema_version'`);
      const newer = PostgresCache.connect(POSTGRES_URL, { schema: first.schema });
      caches.push(newer);
      await expect(newer.connect()).rejects.toThrow(/schema version 99, newer than this release/);
      await sql(`UPDATE "${first.schema}".requestful_meta SET value = 'x' WHERE key = 'schema_version'`);
      const broken = PostgresCache.connect(POSTGRES_URL, { schema: first.schema });
      caches.push(broken);
      await expect(broken.connect()).rejects.toThrow(CacheError);
    });

    it("adds the meta column in place to a table written before it existed, with no entry lost", async () => {
      const first = open();
      const repo = first.createRepository(tracks());
      await first.connect();
      await repo.saveResponses([
        [["GET", "a", "v1"], { name: "a" }],
        [["GET", "b", "v1"], { name: "b" }],
      ]);
      await first.close();
      // The table as the previous release wrote it: every column but meta.
      await sql(`ALTER TABLE "${first.schema}"."tracks" DROP COLUMN "meta"`);
      const again = PostgresCache.connect(POSTGRES_URL, { schema: first.schema, now: () => START });
      caches.push(again);
      const reopened = again.createRepository(tracks());
      await again.connect();
      expect(await reopened.count()).toBe(2);
      expect(await reopened.getResponse(["GET", "a", "v1"])).toEqual({ name: "a" });
      expect((await reopened.getEntry(["GET", "b", "v1"]))?.meta).toBeNull();
      const head = { status: 200, headers: [], url: "https://x.test/c" };
      await reopened.saveResponseBytes(["GET", "c", "v1"], head, new TextEncoder().encode('{"name":"c"}'), {
        meta: '{"v":1}',
      });
      expect((await reopened.getEntry(["GET", "c", "v1"]))?.meta).toBe('{"v":1}');
    });

    it("opens a schema made earlier, and a role without CREATE rights can use it", async () => {
      const first = open();
      const repo = first.createRepository(tracks());
      await first.connect();
      await repo.saveResponse([["GET", "kept", "v1"], { name: "kept" }]);
      await first.close();
      const role = `requestful_reader_${Math.random().toString(36).slice(2, 8)}`;
      await sql(`CREATE ROLE ${role} LOGIN`);
      try {
        await sql(`GRANT USAGE ON SCHEMA "${first.schema}" TO ${role}`);
        await sql(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${first.schema}" TO ${role}`);
        const url = new URL(POSTGRES_URL);
        url.username = role;
        const limited = PostgresCache.connect(url, { schema: first.schema, now: () => START });
        caches.push(limited);
        const again = limited.createRepository(tracks());
        await limited.connect();
        expect(await again.getResponse(["GET", "kept", "v1"])).toEqual({ name: "kept" });
        await limited.close();
      } finally {
        await sql(`DROP OWNED BY ${role}`);
        await sql(`DROP ROLE ${role}`);
      }
    });
  });

  it("is made by ResponseCache.create for postgres:// and postgresql:// URLs, with the schema from the URL", async () => {
    for (const scheme of ["postgres", "postgresql"]) {
      const schema = newSchema();
      const url = POSTGRES_URL.replace(/^postgres(ql)?:/, `${scheme}:`);
      const cache = await ResponseCache.create(`${url}?schema=${schema}`);
      caches.push(cache);
      expect(cache).toBeInstanceOf(PostgresCache);
      expect((cache as PostgresCache).schema).toBe(schema);
      expect(cache.connected).toBe(false);
      cache.createRepository(tracks());
      await cache.connect();
      expect(await sql("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema])).toEqual([[1]]);
    }
    const named = PostgresCache.connect("postgres://user:secret@127.0.0.1:1/db");
    expect(named.name).not.toContain("secret");
  });

  it("keeps fill locks in an unlogged table, and makes a logged one from an earlier release unlogged", async () => {
    const persistence = async (schema: string) =>
      (
        await sql<[string]>("SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = to_regclass($1)", [
          `"${schema}"."requestful_locks"`,
        ])
      )[0]?.[0];
    const cache = open();
    const repo = cache.createRepository(tracks()) as AnyRepository;
    await cache.connect();
    const ticket = await cache.fill(repo, ["GET", "1", "v1"]);
    expect(ticket).toMatchObject({ state: "fetch", locked: true });
    if (ticket.state === "fetch") await ticket.release();
    expect(await persistence(cache.schema)).toBe("u");

    const schema = newSchema();
    await sql(`CREATE SCHEMA "${schema}"`);
    await sql(
      `CREATE TABLE "${schema}"."requestful_locks" ("id" text PRIMARY KEY, "token" text NOT NULL, "expires_at" timestamptz NOT NULL)`,
    );
    expect(await persistence(schema)).toBe("p");
    const older = PostgresCache.connect(POSTGRES_URL, { schema, now: () => START });
    caches.push(older);
    const olderRepo = older.createRepository(tracks()) as AnyRepository;
    await older.connect();
    const again = await older.fill(olderRepo, ["GET", "1", "v1"]);
    expect(again).toMatchObject({ state: "fetch", locked: true });
    if (again.state === "fetch") await again.release();
    expect(await persistence(schema)).toBe("u");
  });

  it("sets up safely when many caches connect to a new schema at once", async () => {
    const schema = newSchema();
    const many = Array.from({ length: 6 }, () => {
      const cache = PostgresCache.connect(POSTGRES_URL, { schema, poolSize: 2, timeout: 5_000 });
      caches.push(cache);
      cache.createRepository(tracks("tracks"));
      cache.createRepository(tracks("albums"));
      return cache;
    });
    await Promise.all(many.map((cache) => cache.connect()));
    expect(await sql("SELECT count(*)::int FROM pg_tables WHERE schemaname = $1", [schema])).toEqual([[4]]);
  });

  describe("statements per call", () => {
    /** A cache on a pool whose connections count the statements they send. */
    async function counted() {
      const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
      pools.push(pool);
      const sent: string[] = [];
      pool.on("connect", (client) => {
        const original = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
          const config = args[0] as string | { text: string };
          sent.push(typeof config === "string" ? config : config.text);
          return original(...args);
        };
      });
      const schema = newSchema();
      const cache = new PostgresCache({ pool, schema, now: () => START, timeout: 10_000 });
      caches.push(cache);
      const repo = cache.createRepository(tracks()) as AnyRepository;
      await cache.connect();
      sent.length = 0;
      return { repo, sent, schema };
    }

    it("reads, writes and deletes in bulk with one statement, or one transaction of chunks", async () => {
      const { repo, sent } = await counted();
      const keys: Key[] = Array.from({ length: 12_000 }, (_, i) => ["GET", `id${i}`, "v1"]);
      expect(await repo.saveResponses(keys.map((key, i) => [key, { name: `n${i}` }] as const))).toBe(12_000);
      // 13 parameters a row: 5,041 rows a statement under the 65,535-parameter limit.
      expect(sent.map((text) => text.split(" ")[0])).toEqual(["BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"]);

      sent.length = 0;
      expect(await repo.saveResponses(keys.slice(0, 1_000).map((key) => [key, { name: "again" }] as const))).toBe(
        1_000,
      );
      expect(sent).toHaveLength(1);

      sent.length = 0;
      expect(await repo.getResponses(keys)).toHaveLength(12_000);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(/= ANY \(ARRAY\(SELECT .* FROM unnest\(\$1::text\[\]\)/);

      sent.length = 0;
      expect(await repo.deleteResponses(keys.slice(0, 11_000))).toBe(11_000);
      expect(sent).toHaveLength(1);
      expect(await repo.count()).toBe(1_000);
    });

    it("saves a bulk of several statements all or nothing", async () => {
      const { repo, sent, schema } = await counted();
      await repo.saveResponse([["GET", "keep", "v1"], { name: "before" }]);
      // A trigger that fails the last row makes the server refuse the third statement.
      await sql(`CREATE FUNCTION "${schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.id = 'poison' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$`);
      await sql(
        `CREATE TRIGGER refuse BEFORE INSERT ON "${schema}".tracks FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse()`,
      );
      const batch = [
        [["GET", "keep", "v1"], { name: "after" }],
        ...Array.from({ length: 12_000 }, (_, i) => [["GET", `n${i}`, "v1"], { name: `n${i}` }]),
        [["GET", "poison", "v1"], { name: "poison" }],
      ] as const;
      sent.length = 0;
      await expect(repo.saveResponses(batch as never)).rejects.toThrow(/refused/);
      expect(sent.filter((text) => text.startsWith("INSERT"))).toHaveLength(3);
      expect(await repo.count()).toBe(1);
      expect(await repo.getResponse(["GET", "keep", "v1"])).toEqual({ name: "before" });
    });
  });
});
