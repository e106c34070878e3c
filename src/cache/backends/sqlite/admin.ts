import { statSync } from "node:fs";
import type { RepositoryStats, ResolvedFilter } from "../../admin.js";
import type { StoreSize } from "../../cache.js";
import { globToSqlite } from "../../glob.js";
import { parseRecord, type RepositoryRecord } from "../../records.js";
import { retryBusy } from "./busy.js";
import type { SQLiteDatabase as Database } from "./database.js";
import { META_TABLE, quote } from "./sql.js";

/** Each repository's record is a row of the metadata table, under this prefix and its name. */
const RECORD_PREFIX = "repository:";

/** A WHERE clause and its parameters for a filter. */
function whereOf(filter: ResolvedFilter): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (filter.state === "live") {
    conditions.push('"expires_at" > ?');
    params.push(filter.now);
  } else if (filter.state === "expired") {
    conditions.push('"expires_at" <= ?');
    params.push(filter.now);
  }
  if (filter.cachedBefore !== undefined) {
    conditions.push('"cached_at" < ?');
    params.push(filter.cachedBefore);
  }
  if (filter.match !== undefined) {
    conditions.push('"url" GLOB ?');
    params.push(globToSqlite(filter.match));
  }
  return { where: conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`, params };
}

/** Counts the rows of a table that match a filter. */
export function countMatching(db: Database, table: string, filter: ResolvedFilter): Promise<number> {
  const { where, params } = whereOf(filter);
  const statement = db.prepare(`SELECT COUNT(*) FROM ${table}${where}`).pluck();
  return retryBusy(() => statement.get(...params) as number);
}

/**
 * Removes at most `limit` matching rows in one statement; `expires_at` conditions use its index,
 * so purging expired entries never reads the live ones.
 */
export function purgeMatching(db: Database, table: string, filter: ResolvedFilter, limit: number): Promise<number> {
  const { where, params } = whereOf(filter);
  const statement = db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table}${where} LIMIT ?)`);
  return retryBusy(() => statement.run(...params, limit).changes);
}

/** Counts, payload bytes (UTF-8 bytes of text) and the oldest and newest instants in one statement. */
export function measureEntries(db: Database, table: string, now: number): Promise<RepositoryStats> {
  const statement = db
    .prepare(
      `SELECT COUNT(*), COALESCE(SUM("expires_at" > ?), 0), COALESCE(SUM(length(CAST("payload" AS BLOB))), 0), ` +
        `MIN("cached_at"), MAX("cached_at") FROM ${table}`,
    )
    .raw();
  return retryBusy(() => {
    const [entries, live, payloadBytes, oldest, newest] = statement.get(now) as [
      number,
      number,
      number,
      number | null,
      number | null,
    ];
    return { entries, live, expired: entries - live, payloadBytes, oldest, newest };
  });
}

export function saveRecord(db: Database, record: RepositoryRecord): Promise<void> {
  const statement = db.prepare(
    `INSERT INTO ${quote(META_TABLE)} ("key", "value") VALUES (?, ?) ` +
      `ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value" WHERE "value" IS NOT excluded."value"`,
  );
  return retryBusy(() => {
    statement.run(RECORD_PREFIX + record.name, JSON.stringify(record));
  });
}

export function loadRecords(db: Database, path: string): Promise<RepositoryRecord[]> {
  const statement = db.prepare(`SELECT "value" FROM ${quote(META_TABLE)} WHERE substr("key", 1, ?) = ?`).pluck();
  return retryBusy(() =>
    (statement.all(RECORD_PREFIX.length, RECORD_PREFIX) as string[]).map((text) =>
      parseRecord(text, `SQLite database "${path}"`),
    ),
  );
}

/** The database file with its write-ahead log, or the pages held in memory. */
export function measureStore(db: Database, path: string, inMemory: boolean): StoreSize {
  if (inMemory) {
    const pages = db.pragma("page_count", { simple: true }) as number;
    const size = db.pragma("page_size", { simple: true }) as number;
    return { bytes: pages * size, measured: "memory" };
  }
  let bytes = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      bytes += statSync(file).size;
    } catch {
      // no write-ahead log at the moment
    }
  }
  return { bytes, measured: "file" };
}

/** `PRAGMA integrity_check`: the problems SQLite lists, none when it says "ok". */
export function checkStore(db: Database): Promise<string[]> {
  return retryBusy(() => {
    const rows = db.pragma("integrity_check") as { integrity_check: string }[];
    return rows.map((row) => row.integrity_check).filter((line) => line !== "ok");
  });
}

/** Moves the write-ahead log into the file, then rewrites the file without its free pages. */
export function compactStore(db: Database): Promise<void> {
  return retryBusy(() => {
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.exec("VACUUM");
    db.pragma("wal_checkpoint(TRUNCATE)");
  });
}
