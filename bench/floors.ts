/**
 * The floors the benchmarks measure requestful against, in the same run: what a hand-written cache
 * would do on the same store — prepared better-sqlite3 statements plus JSON on a table of the same
 * shape and settings, and a plain Map of JSON text.
 */
import BetterSqlite3, { type Database } from "better-sqlite3";
import type { JSONValue, Key } from "../src/index.js";

/** The floor for SQLite: the statements a hand-written cache would prepare, on the same kind of file. */
export function sqliteFloor(path: string): Floor & { db: Database } {
  const db = new BetterSqlite3(path, { timeout: 5_000 });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = full");
  db.exec(`CREATE TABLE IF NOT EXISTS t ("method" NOT NULL, "id" NOT NULL, "name" TEXT, "cached_at" INTEGER NOT NULL,
    "expires_at" INTEGER NOT NULL, "payload" NOT NULL, "status" INTEGER, "headers" TEXT, "url" TEXT,
    PRIMARY KEY ("method", "id"));
    CREATE INDEX IF NOT EXISTS t_expires ON t ("expires_at");`);
  const select = db.prepare(`SELECT "payload" FROM t WHERE "expires_at" > ? AND "method" = ? AND "id" = ?`).pluck();
  const upsert = db.prepare(
    `INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("method", "id") DO UPDATE SET
     "name" = excluded."name", "cached_at" = excluded."cached_at", "expires_at" = excluded."expires_at",
     "payload" = excluded."payload", "status" = excluded."status", "headers" = excluded."headers", "url" = excluded."url"`,
  );
  const week = 7 * 86_400_000;
  const save = (key: Key, value: JSONValue) => {
    const now = Date.now();
    upsert.run(key[0], key[1], null, now, now + week, JSON.stringify(value), null, null, null);
  };
  const saveMany = db.transaction((entries: [Key, JSONValue][]) => {
    for (const [key, value] of entries) save(key, value);
  });
  const get = (key: Key) => {
    const text = select.get(Date.now(), key[0], key[1]) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  };
  return { db, save, saveMany: (entries: [Key, JSONValue][]) => saveMany.immediate(entries), get };
}

export function mapFloor(): Floor {
  const map = new Map<string, string>();
  const id = (key: Key) => `${key[0]} ${key[1]}`;
  return {
    save: (key: Key, value: JSONValue) => map.set(id(key), JSON.stringify(value)),
    saveMany: (entries: [Key, JSONValue][]) => {
      for (const [key, value] of entries) map.set(id(key), JSON.stringify(value));
    },
    get: (key: Key) => {
      const text = map.get(id(key));
      return text === undefined ? undefined : JSON.parse(text);
    },
  };
}

/** What each floor does: what a hand-written cache on the same store would do. */
export interface Floor {
  save(key: Key, value: JSONValue): unknown;
  saveMany(entries: [Key, JSONValue][]): unknown;
  get(key: Key): unknown;
}
