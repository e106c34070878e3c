import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getNow } from "../../src/cache/backends/sqlite/busy.js";
import {
  CacheError,
  defineSettings,
  IN_MEMORY,
  MemoryCache,
  ResponseCache,
  SCHEMA_VERSION,
  SQLiteCache,
  SQLiteTable,
} from "../../src/index.js";
import { tempFolder } from "../helpers/temp.js";

const settings = (name = "items", fields = ["id"]) =>
  defineSettings({ name, fields, getKey: () => fields.map(() => null) });

let folder: ReturnType<typeof tempFolder>;
beforeEach(() => {
  folder = tempFolder();
});
afterEach(() => folder.remove());

describe("SQLite: opening", () => {
  it("adds the .sqlite suffix, creates missing folders, and runs in WAL mode with a schema version", async () => {
    const cache = SQLiteCache.connectWithPath(join(folder.path, "deep", "er", "cache"));
    expect(cache.path).toBe(join(folder.path, "deep", "er", "cache.sqlite"));
    await cache.connect();
    expect(existsSync(cache.path)).toBe(true);
    expect(cache.connection.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(cache.connection.pragma("busy_timeout", { simple: true })).toBe(5000);
    // synchronous: "full" commits at NORMAL and syncs the log after (test/backends/sqlite.sync.test.ts)
    expect(cache.connection.pragma("synchronous", { simple: true })).toBe(1);
    const version = cache.connection.prepare("SELECT value FROM requestful_meta WHERE key = 'schema_version'").pluck();
    expect(version.get()).toBe(String(SCHEMA_VERSION));
    await cache.close();
    expect(SQLiteCache.connectWithPath(join(folder.path, "x.sqlite")).path).toBe(join(folder.path, "x.sqlite"));
  });

  it("maps paths and URLs to databases", async () => {
    expect(SQLiteCache.connect("sqlite::memory:").path).toBe(IN_MEMORY);
    expect(SQLiteCache.connect(":memory:").path).toBe(IN_MEMORY);
    expect(SQLiteCache.connect("sqlite:rel/db.sqlite").path).toBe("rel/db.sqlite");
    expect(SQLiteCache.connect("sqlite:///abs/db.sqlite").path).toBe("/abs/db.sqlite");
    expect(SQLiteCache.connect(new URL("file:///tmp/x%20y.sqlite")).path).toBe("/tmp/x y.sqlite");
    expect(SQLiteCache.connectWithInMemoryDb().path).toBe(IN_MEMORY);
    expect(SQLiteCache.connectWithTempDb("t.tmp").path).toMatch(/t\.tmp\.sqlite$/);
    expect(() => SQLiteCache.connect("sqlite://host/db")).toThrow(CacheError);
    expect(() => new SQLiteCache("")).toThrow(TypeError);
    expect(() => new SQLiteCache("x", { busyTimeout: -1 })).toThrow(/busyTimeout/);
    expect(() => new SQLiteCache("x", { synchronous: "off" as never })).toThrow(/synchronous/);
    expect(() => new SQLiteCache("x", { maxSize: 1_000 } as never)).toThrow(TypeError);
    expect(() => new SQLiteCache("x", { maxSize: 1_000 } as never)).toThrow(
      /SQLiteCache has no option "maxSize"; expected .*expire.*busyTimeout, synchronous/,
    );
  });

  it("reads file: URIs as SQLite does: relative paths, an authority, :memory:, mode and cache", async () => {
    const path = (uri: string) => SQLiteCache.connect(uri).path;
    expect(path("file::memory:?cache=shared")).toBe(IN_MEMORY);
    expect(path("file::memory:")).toBe(IN_MEMORY);
    expect(path("file:memdb1?mode=memory&cache=shared")).toBe(IN_MEMORY);
    expect(path("file:data.db")).toBe("data.db");
    expect(path("file:dir/my%20data.db?cache=private#ignored")).toBe("dir/my data.db");
    expect(path("file:/abs/data.db")).toBe("/abs/data.db");
    expect(path("file:///abs/data.db?mode=rwc")).toBe("/abs/data.db");
    expect(path("file://localhost/abs/data.db")).toBe("/abs/data.db");
    expect(path("FILE:data.db")).toBe("data.db");
    for (const [uri, why] of [
      ["file://example.com/data.db", /authority/],
      ["file:data.db?mode=ro", /mode=ro.*a cache writes/],
      ["file:data.db?mode=rwx", /mode must be/],
      ["file:data.db?cache=sometimes", /cache must be/],
      ["file:data.db?vfs=unix-none", /"vfs" is not supported; the supported ones are mode, cache/],
      ["file:", /names no file/],
      ["file:bad%zz", /escape/],
    ] as const) {
      expect(() => SQLiteCache.connect(uri), uri).toThrow(CacheError);
      expect(() => SQLiteCache.connect(uri), uri).toThrow(why);
    }

    // In memory: nothing is written to the disk, under the working folder or at its root.
    const memory = SQLiteCache.connect("file::memory:?cache=shared");
    memory.createRepository(settings());
    await memory.connect();
    await (memory.get("items") as SQLiteTable).saveResponse([["GET", "a"], "in memory"]);
    expect(await (memory.get("items") as SQLiteTable).getResponse(["GET", "a"])).toBe("in memory");
    await memory.close();
    expect(existsSync(":memory:")).toBe(false);
    expect(existsSync("/:memory:")).toBe(false);

    // mode=rw opens a file that exists and never creates one; rwc creates it.
    const missing = join(folder.path, "missing.sqlite");
    await expect(SQLiteCache.connect(`file://${missing}?mode=rw`).connect()).rejects.toThrow(CacheError);
    expect(existsSync(missing)).toBe(false);
    const created = SQLiteCache.connect(`file:${join(folder.path, "made", "new.sqlite")}`);
    await created.connect();
    await created.close();
    expect(existsSync(join(folder.path, "made", "new.sqlite"))).toBe(true);
    const reopened = SQLiteCache.connect(`file://${join(folder.path, "made", "new.sqlite")}?mode=rw`);
    await reopened.connect();
    await reopened.close();
  });

  it("picks the backend from a path or URL in ResponseCache.create", async () => {
    const file = await ResponseCache.create(join(folder.path, "made"));
    expect(file).toBeInstanceOf(SQLiteCache);
    // A plain path gets the .sqlite suffix, as connectWithPath gives it.
    expect((file as SQLiteCache).path).toBe(join(folder.path, "made.sqlite"));
    expect(((await ResponseCache.create("db")) as SQLiteCache).path).toBe("db.sqlite");
    expect(((await ResponseCache.create("x.sqlite")) as SQLiteCache).path).toBe("x.sqlite");
    expect(((await ResponseCache.create(":memory:")) as SQLiteCache).path).toBe(IN_MEMORY);
    expect(((await ResponseCache.create("sqlite:plain")) as SQLiteCache).path).toBe("plain");
    // A bare backend name would make a file of that name: refused, with the forms that work.
    for (const word of ["memory", "Memory", "redis", "postgres"]) {
      await expect(ResponseCache.create(word)).rejects.toThrow(CacheError);
    }
    await expect(ResponseCache.create("memory")).rejects.toThrow(/"memory:".*"\.\/memory"/);
    await expect(ResponseCache.create("redis:127.0.0.1")).rejects.toThrow(/"redis:127\.0\.0\.1"/);
    await expect(ResponseCache.create("postgres:127.0.0.1")).rejects.toThrow(/"postgres:127\.0\.0\.1"/);
    expect(await ResponseCache.create("sqlite::memory:")).toBeInstanceOf(SQLiteCache);
    expect(await ResponseCache.create("memory:")).toBeInstanceOf(MemoryCache);
    await expect(ResponseCache.create("ftp://example.com/x")).rejects.toThrow(/no backend for "ftp:"/);
    await expect(ResponseCache.create("")).rejects.toThrow(TypeError);
  });

  it("gives a clear CacheError for a file that is not a database", async () => {
    const path = join(folder.path, "not-a-db.sqlite");
    writeFileSync(path, "this is a text file, not a database ".repeat(200));
    const cache = SQLiteCache.connect(path);
    cache.createRepository(settings());
    await expect(cache.connect()).rejects.toThrow(CacheError);
    await expect(cache.connect()).rejects.toThrow(/is not a usable SQLite database: file is not a database/);
    expect(cache.connected).toBe(false);
  });

  it("refuses a database written with a newer schema", async () => {
    const path = join(folder.path, "newer.sqlite");
    const db = new BetterSqlite3(path);
    db.exec(`CREATE TABLE requestful_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO requestful_meta VALUES ('schema_version', '${SCHEMA_VERSION + 1}');`);
    db.close();
    await expect(SQLiteCache.connect(path).connect()).rejects.toThrow(/newer than this release reads/);
  });

  it("opens a database written by this schema version with entries in it", async () => {
    // What schema version 1 writes, built by hand: the file format must stay readable.
    const path = join(folder.path, "v1.sqlite");
    const db = new BetterSqlite3(path);
    db.exec(`CREATE TABLE requestful_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO requestful_meta VALUES ('schema_version', '1');
             CREATE TABLE "items" ("method" NOT NULL, "id" NOT NULL, "name" TEXT, "cached_at" INTEGER NOT NULL,
               "expires_at" INTEGER NOT NULL, "payload" NOT NULL, "status" INTEGER, "headers" TEXT, "url" TEXT,
               PRIMARY KEY ("method", "id"));
             INSERT INTO "items" VALUES ('GET', 'a', 'A', 1, 9999999999999, 'stored', 200, '[]', 'https://x.test/a');`);
    db.close();
    const cache = SQLiteCache.connect(path);
    const repo = cache.createRepository(settings());
    await cache.connect();
    expect(await repo.getResponse(["GET", "a"])).toBe("stored");
    expect((await repo.getEntry(["GET", "a"]))?.url).toBe("https://x.test/a");
    // The table gained the meta column in place, with no entry lost, and takes metadata now.
    expect((await repo.getEntry(["GET", "a"]))?.meta).toBeNull();
    expect(await repo.count()).toBe(1);
    const head = { status: 200, headers: [], url: "https://x.test/b" };
    await repo.saveResponseBytes(["GET", "b"], head, new TextEncoder().encode("b"), { meta: '{"v":1}' });
    expect((await repo.getEntry(["GET", "b"]))?.meta).toBe('{"v":1}');
    await cache.close();
    const columns = new BetterSqlite3(path).prepare("SELECT name FROM pragma_table_info('items')").pluck().all();
    expect(columns).toContain("meta");
  });

  it("refuses a table whose columns do not match the settings", async () => {
    const path = join(folder.path, "fields.sqlite");
    const first = SQLiteCache.connect(path);
    first.createRepository(settings("items", ["id"]));
    await first.connect();
    await first.close();
    const second = SQLiteCache.connect(path);
    second.createRepository(settings("items", ["id", "version"]));
    await expect(second.connect()).rejects.toThrow(/exists with columns \(method, id, .*\) but these settings need/);
  });
});

describe("SQLite: names", () => {
  it("refuses names SQLite or the backend keep, and names that differ only in ASCII case", async () => {
    const cache = SQLiteCache.connectWithInMemoryDb();
    expect(() => cache.createRepository(settings("sqlite_master"))).toThrow(/start with "sqlite_"/);
    expect(() => cache.createRepository(settings("SQLITE_x"))).toThrow(CacheError);
    expect(() => cache.createRepository(settings("requestful_meta"))).toThrow(/"requestful_"/);
    cache.createRepository(settings("Tracks"));
    expect(() => cache.createRepository(settings("tracks"))).toThrow(/ignore the case/);
    cache.createRepository(settings("Émile"));
    cache.createRepository(settings("émile")); // SQLite folds ASCII only: these are two tables
    await cache.connect();
    expect(await cache.get("Émile")?.count()).toBe(0);
    await cache.close();
  });

  it("keeps a hostile name inside its own table and touches no other", async () => {
    const cache = SQLiteCache.connectWithPath(join(folder.path, "hostile"));
    const victim = cache.createRepository(settings("victim"));
    const hostile = cache.createRepository(settings('victim" ; DROP TABLE "victim"; --'));
    await cache.connect();
    await victim.saveResponse([["GET", "a"], "safe"]);
    await hostile.saveResponse([["GET", "a"], "other"]);
    expect(await hostile.clear()).toBe(1);
    expect(await victim.getResponse(["GET", "a"])).toBe("safe");
    const tables = cache.connection
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck();
    expect(tables.all()).toEqual(["requestful_meta", "victim", 'victim" ; DROP TABLE "victim"; --']);
    await cache.close();
  });
});

describe("SQLite: the table", () => {
  it("keeps one column per key field with the key's types, and indexes expires_at", async () => {
    const cache = SQLiteCache.connectWithInMemoryDb();
    const repo = cache.createRepository(settings("typed", ["id", "version", "offset"]));
    await cache.connect();
    await repo.saveResponse([["GET", "abc", "v1", 20], "x"]);
    const row = cache.connection
      .prepare('SELECT typeof("id") AS id, typeof("version") AS version, typeof("offset") AS off FROM "typed"')
      .get();
    expect(row).toEqual({ id: "text", version: "text", off: "integer" });
    const indexes = cache.connection.prepare("SELECT name FROM pragma_index_list('typed')").pluck().all();
    expect(indexes).toContain("requestful_idx:typed:expires_at");
    const plan = cache.connection
      .prepare(
        `EXPLAIN QUERY PLAN SELECT * FROM "typed" WHERE ("method", "id", "version", "offset") IN (VALUES (?, ?, ?, ?))`,
      )
      .all("GET", "a", "b", 1) as { detail: string }[];
    expect(plan.map((step) => step.detail).join(" ")).toMatch(/USING (INDEX|PRIMARY KEY)/);
    await cache.close();
  });

  it("works on a connection the caller opened, outside any cache", async () => {
    const db = new BetterSqlite3(join(folder.path, "own.sqlite"));
    const table = await new SQLiteTable(db, settings("own"), { expire: 60_000 }).create();
    await table.saveResponse([["GET", "1"], "one"]);
    expect(await table.getResponse(["GET", "1"])).toBe("one");
    await table.close();
    await expect(table.count()).rejects.toThrow(/closed/);
    expect(db.open).toBe(true); // the caller's connection stays theirs
    db.close();
  });

  it("saves and reads more entries than one statement can carry", async () => {
    const cache = SQLiteCache.connectWithInMemoryDb();
    const repo = cache.createRepository(settings("big", ["a", "b", "c"]));
    await cache.connect();
    const keys = Array.from({ length: 12_000 }, (_, i) => ["GET", `a${i}`, i, `c${i % 7}`] as const);
    expect(await repo.saveResponses(keys.map((key) => [key, `p${key[2]}`] as const))).toBe(12_000);
    const found = await repo.getResponses(keys);
    expect(found).toHaveLength(12_000);
    expect(found[11_999]).toBe("p11999");
    expect(await repo.deleteResponses(keys.slice(0, 11_000))).toBe(11_000);
    expect(await repo.count()).toBe(1_000);
    await cache.close();
  });
});

describe("SQLite: reads while the database is busy", () => {
  it("reads at once when it can, and tries again after a pause while the database is locked", async () => {
    const busy = Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
    let calls = 0;
    const statement = {
      get(...params: unknown[]) {
        calls++;
        if (calls < 3) throw busy;
        return params;
      },
    };
    const later = getNow(statement, [1, "a"]);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toEqual([1, "a"]);
    expect(calls).toBe(3);
    expect(getNow({ get: (...params: unknown[]) => params }, [2])).toEqual([2]);
    expect(() =>
      getNow(
        {
          get() {
            throw new TypeError("not a lock");
          },
        },
        [],
      ),
    ).toThrow(TypeError);
  });
});
