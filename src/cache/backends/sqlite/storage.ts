import type { SQLiteDatabase as Database } from "./database.js";

/** The largest size, in bytes, that the WAL file is cut back to after a checkpoint. */
export const WAL_SIZE_LIMIT = 8 * 1024 * 1024;

/**
 * Settings that keep the file small: a new database frees pages back to the file system
 * (`auto_vacuum = INCREMENTAL`, a step at a time after evictions and clean-ups), and the WAL is cut
 * back to {@link WAL_SIZE_LIMIT} after each checkpoint, which SQLite runs every 1,000 pages written.
 * `auto_vacuum` can only change in a database without tables: a file created by an older release
 * keeps its setting until `VACUUM` is run on it once.
 */
export function applyStorageSettings(db: Database): void {
  db.pragma("auto_vacuum = INCREMENTAL");
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
}
