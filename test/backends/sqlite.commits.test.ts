import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LogSync } from "../../src/cache/backends/sqlite/sync.js";
import { fillId } from "../../src/cache/single-flight.js";
import { defineSettings, SQLiteCache } from "../../src/index.js";
import { tempFolder } from "../helpers/temp.js";

const settings = defineSettings({ name: "items", fields: ["id"], getKey: () => [null] });
const head = { status: 200, headers: [["content-type", "text/plain"]] as [string, string][], url: "https://x.test/1" };
const body = new TextEncoder().encode("payload");

let folder: ReturnType<typeof tempFolder>;
beforeEach(() => {
  folder = tempFolder();
});
afterEach(() => folder.remove());

describe("SQLite durability: the log synced after commits", () => {
  it('commits at NORMAL in WAL mode with synchronous: "full", and at SQLite\'s own level otherwise', async () => {
    const full = SQLiteCache.connectWithPath(join(folder.path, "full"));
    const normal = SQLiteCache.connectWithPath(join(folder.path, "normal"), { synchronous: "normal" });
    const memory = SQLiteCache.connectWithInMemoryDb();
    for (const cache of [full, normal, memory]) await cache.connect();
    expect(full.connection.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(full.connection.pragma("synchronous", { simple: true })).toBe(1); // NORMAL, the log synced after
    expect(normal.connection.pragma("synchronous", { simple: true })).toBe(1);
    expect(memory.connection.pragma("synchronous", { simple: true })).toBe(2); // no log: SQLite's FULL
    for (const cache of [full, normal, memory]) await cache.close();
  });

  for (const synchronous of ["full", "normal"] as const) {
    it(`tells a writer when its entry is readable by another connection, before the write resolves (${synchronous})`, async () => {
      const cache = SQLiteCache.connectWithPath(join(folder.path, synchronous), { synchronous });
      const items = cache.createRepository(settings);
      await cache.connect();
      const other = new BetterSqlite3(cache.path, { readonly: true });
      const seen: string[] = [];
      let resolved = false;
      const write = items
        .saveResponseBytes(["GET", "1"], head, body, {
          onVisible: () => {
            seen.push(resolved ? "after" : "before");
            const row = other.prepare(`SELECT "payload" FROM "items" WHERE "id" = '1'`).pluck().get();
            seen.push(String(row));
          },
        })
        .then((saved) => {
          resolved = true;
          return saved;
        });
      expect(await write).toBe(true);
      expect(seen).toEqual(["before", "payload"]);
      other.close();
      await cache.close();
    });
  }

  it("keeps every write of many writers at once, and the file reopens with all of them", async () => {
    const path = join(folder.path, "many.sqlite");
    const cache = SQLiteCache.connectWithPath(path);
    const items = cache.createRepository(settings);
    await cache.connect();
    await Promise.all(Array.from({ length: 200 }, (_, i) => items.saveResponseBytes(["GET", String(i)], head, body)));
    await cache.close();
    const reopened = SQLiteCache.connectWithPath(path);
    const again = reopened.createRepository(settings);
    await reopened.connect();
    expect(await again.count()).toBe(200);
    await reopened.close();
  });
});

describe("LogSync", () => {
  it("runs one sync at a time, the commits made while one runs share the next, and one asked for at the turn's end waits for it", async () => {
    const path = join(folder.path, "db");
    writeFileSync(`${path}-wal`, "log");
    const sync = new LogSync(path);
    const first = sync.synced();
    expect(sync.syncs).toBe(1); // started at once
    const waiting = Array.from({ length: 10 }, () => sync.synced());
    expect(new Set(waiting).size).toBe(1); // one queued sync for all ten
    expect(waiting[0]).not.toBe(first);
    await Promise.all([first, ...waiting]);
    expect(sync.syncs).toBe(2);

    // At the end of the turn: not started before it ends, and shared by the commits of the turn.
    const turn = Array.from({ length: 10 }, () => sync.synced(true));
    expect(new Set(turn).size).toBe(1);
    expect(sync.syncs).toBe(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sync.syncs).toBe(3);
    await Promise.all(turn);
    await sync.close();
  });

  it("syncs the database file when there is no log, and rejects when there is neither", async () => {
    const path = join(folder.path, "db");
    writeFileSync(path, "data");
    const sync = new LogSync(path);
    await sync.synced();
    expect(sync.syncs).toBe(1);
    await sync.close();
    const missing = new LogSync(join(folder.path, "absent"));
    await expect(missing.synced()).rejects.toMatchObject({ code: "ENOENT" });
    await missing.close();
  });
});

describe("SQLite fill locks", () => {
  it("keeps locks in a table without rowids, and turns an earlier release's table into one with its locks kept", async () => {
    const path = join(folder.path, "locks.sqlite");
    const early = new BetterSqlite3(path);
    early.pragma("journal_mode = WAL");
    early.exec(
      `CREATE TABLE "requestful_locks" ("id" TEXT PRIMARY KEY, "token" TEXT NOT NULL, "expires_at" INTEGER NOT NULL)`,
    );
    const cache = SQLiteCache.connectWithPath(path);
    const items = cache.createRepository(settings);
    await cache.connect();
    // An earlier release's process holds the lock of key 1.
    const heldId = fillId("items", ["GET", "1"]);
    early.prepare(`INSERT INTO "requestful_locks" VALUES (?, 'theirs', ?)`).run(heldId, Date.now() + 60_000);

    const other = await cache.fill(items, ["GET", "2"]);
    expect(other).toMatchObject({ state: "fetch", locked: true });
    const kind = () =>
      early.prepare(`SELECT "sql" FROM sqlite_master WHERE "name" = 'requestful_locks'`).pluck().get() as string;
    expect(kind()).toMatch(/WITHOUT ROWID/);
    // The earlier holder's lock was kept: this process waits for it.
    const waited = await cache.fill(items, ["GET", "1"], { wait: 150 });
    expect(waited).toMatchObject({ state: "fetch", locked: false });
    if (other.state === "fetch") await other.release();
    const rows = early.prepare(`SELECT "token" FROM "requestful_locks"`).pluck().all();
    expect(rows).toEqual(["theirs"]);
    early.close();
    await cache.close();
  });

  it("writes the releases of one turn in one commit, or with the next lock taken, and closes with them written", async () => {
    const cache = SQLiteCache.connectWithPath(join(folder.path, "batched.sqlite"));
    const items = cache.createRepository(settings);
    await cache.connect();
    const other = new BetterSqlite3(cache.path, { readonly: true });
    const held = () => other.prepare(`SELECT "id" FROM "requestful_locks" ORDER BY "id"`).pluck().all();
    // Each lock commit writes the lock table's one page: the log grows by a frame per commit.
    const pageSize = Number(cache.connection.pragma("page_size", { simple: true }));
    const frames = () => (statSync(`${cache.path}-wal`).size - 32) / (pageSize + 24);
    const take = async (id: string) => {
      const ticket = await cache.fill(items, ["GET", id]);
      if (ticket.state !== "fetch" || !ticket.locked) throw new Error(`lock ${id} was not taken`);
      return ticket;
    };

    const tickets = [await take("1"), await take("2"), await take("3")];
    expect(held()).toEqual(["1", "2", "3"].map((id) => fillId("items", ["GET", id])));
    let before = frames();
    await Promise.all(tickets.map((ticket) => ticket.release()));
    expect(held()).toEqual([]);
    expect(frames() - before).toBe(1); // three releases, one commit

    // A release, then a lock taken in the same turn: one commit for both.
    const first = await take("4");
    before = frames();
    const released = first.release();
    const next = await take("5");
    expect(held()).toEqual([fillId("items", ["GET", "5"])]);
    expect(frames() - before).toBe(1);
    await released;

    // A release not awaited before close is written before the connection closes.
    void next.release();
    await cache.close();
    expect(held()).toEqual([]);
    other.close();
  });

  it("settles a release that a lock took only once that lock's transaction is written, after a busy wait", async () => {
    const cache = SQLiteCache.connectWithPath(join(folder.path, "busy.sqlite"), { busyTimeout: 20 });
    const items = cache.createRepository(settings);
    await cache.connect();
    const first = await cache.fill(items, ["GET", "1"]);
    if (first.state !== "fetch" || !first.locked) throw new Error("lock 1 was not taken");
    // Another connection holds the write lock: the next lock, with the release, has to wait.
    const other = new BetterSqlite3(cache.path);
    other.exec("BEGIN IMMEDIATE");
    let released = false;
    const release = first.release().then(() => {
      released = true;
    });
    const next = cache.fill(items, ["GET", "2"]);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the end of the turn came and went
    expect(released).toBe(false);
    other.exec("COMMIT");
    expect(await next).toMatchObject({ state: "fetch", locked: true });
    await release;
    const held = other.prepare(`SELECT "id" FROM "requestful_locks"`).pluck().all();
    expect(held).toEqual([fillId("items", ["GET", "2"])]);
    other.close();
    await cache.close();
  });
});
