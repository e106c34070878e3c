import type { Key } from "../../../types.js";
import { type Bounds, ENTRY_OVERHEAD, entrySize, retentionCutoff, type StoreUsage } from "../../bounds.js";
import type { CacheEntry } from "../../entry.js";
import { retryBusy } from "./busy.js";
import type { SQLiteDatabase as Database, SQLiteStatement as Statement } from "./database.js";
import { quote } from "./sql.js";

/** One row per entry of every bounded table: its size and when it was last used. */
export const LRU_TABLE = "requestful_lru";
/** One row per bounded table: how many entries and bytes it holds. */
export const USAGE_TABLE = "requestful_usage";

/** Entries removed per table in one clean-up batch: short enough never to hold the write lock long. */
export const SWEEP_BATCH = 256;
/** How often (by the cache's clock) writes look for entries past their retention. */
export const SWEEP_EVERY_MS = 1_000;
/** How often a timer writes recorded reads and removes entries past retention, when nothing writes. */
export const TIMER_MS = 1_000;
/** Reads remembered between two flushes; more are dropped (the access stamps become a sample). */
export const MAX_TOUCHES = 4_096;
/** Free pages kept before an incremental vacuum gives them back to the file system, and pages freed per step. */
const FREE_PAGES_KEPT = 256;
const VACUUM_STEP = 1_024;

const LRU = quote(LRU_TABLE);
const USAGE = quote(USAGE_TABLE);

interface TableHooks {
  readonly quoted: string;
  /** Stamps one entry as used, found by its key (bounded caches only). */
  readonly touch: Statement | undefined;
  /** Removes a batch of entries past their retention. */
  readonly sweep: Statement;
}

/** The value columns whose bytes an entry counts for, after its key columns. */
const SIZED_COLUMNS = ['"payload"', '"headers"', '"url"', '"name"', '"meta"'];

/** SQL for the bytes of one row (`row` is NEW or OLD), as {@link entrySize} counts them. */
function sizeExpression(row: string, keys: readonly string[]): string {
  const text = (column: string) => `ifnull(length(CAST(${row}.${column} AS BLOB)), 0)`;
  return `(${[String(ENTRY_OVERHEAD), ...[...keys, ...SIZED_COLUMNS].map(text)].join(" + ")})`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Keeps the tables of one SQLite cache within `maxEntries` and `maxBytes`, and removes entries past
 * their retention.
 *
 * Accounting is exact: triggers on each table keep a row per entry (size, last use) in
 * `requestful_lru` and the totals in `requestful_usage`, in the same transaction as the write, and
 * each bounded write evicts least recently used entries before it commits. SQLite lets one writer
 * in at a time, so however many processes write, no committed state is over the bounds.
 *
 * Reads are not written when they happen: they are remembered (up to {@link MAX_TOUCHES}) and
 * stamped with the next write, or by a timer within {@link TIMER_MS}.
 */
export class SQLiteBounds {
  readonly bounds: Bounds;
  readonly #now: () => number;
  readonly #tables = new Map<string, TableHooks>();
  readonly #deleteByRowid = new Map<string, Statement>();
  #db: Database | undefined;
  #touches: [string, Key, number][] = [];
  #lastSweep = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #usage: Statement | undefined;
  #oldest: Statement | undefined;
  #timerRuns = 0;

  constructor(bounds: Bounds, now: () => number) {
    this.bounds = bounds;
    this.#now = now;
  }

  /** Whether writes must run with eviction in their transaction. */
  get bounded(): boolean {
    return this.bounds.bounded;
  }

  /** Creates the bookkeeping tables when the cache is bounded, and starts the timer. */
  open(db: Database): void {
    this.#db = db;
    if (this.bounds.bounded) {
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${LRU} ("tbl" TEXT NOT NULL, "id" INTEGER NOT NULL, "size" INTEGER NOT NULL, ` +
          `"used_at" INTEGER NOT NULL, PRIMARY KEY ("tbl", "id")) WITHOUT ROWID;` +
          `CREATE INDEX IF NOT EXISTS ${quote(`${LRU_TABLE}:used_at`)} ON ${LRU} ("used_at");` +
          `CREATE TABLE IF NOT EXISTS ${USAGE} ("tbl" TEXT PRIMARY KEY, "entries" INTEGER NOT NULL, "bytes" INTEGER NOT NULL);`,
      );
      this.#usage = db.prepare(`SELECT ifnull(SUM("entries"), 0), ifnull(SUM("bytes"), 0) FROM ${USAGE}`).raw();
      this.#oldest = db.prepare(`SELECT "tbl", "id", "size" FROM ${LRU} ORDER BY "used_at", "tbl", "id" LIMIT ?`).raw();
    }
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.bounds.bounded || this.bounds.retention !== null) {
      this.#timer = setInterval(() => this.#onTimer(), TIMER_MS);
      this.#timer.unref();
    }
  }

  /** Stops the timer and writes the reads still remembered. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const db = this.#db;
    if (db?.open && this.#touches.length > 0) {
      try {
        db.transaction(() => this.#flushTouches())();
      } catch {
        // Stamps of reads are a hint for eviction: losing them on close loses nothing else.
      }
    }
    this.#tables.clear();
    this.#deleteByRowid.clear();
    this.#db = undefined;
  }

  /**
   * Installs the triggers of a table (counting what it holds when they are new) and prepares its
   * clean-up. Runs inside the transaction that creates the table.
   */
  register(db: Database, name: string, keyColumns: readonly string[]): void {
    const table = quote(name);
    const keys = keyColumns.map(quote);
    if (this.bounds.bounded) installTriggers(db, name, table, keys);
    const matchKey = keys.map((column) => `${column} = ?`).join(" AND ");
    this.#tables.set(name, {
      quoted: table,
      touch: this.bounds.bounded
        ? db.prepare(
            `UPDATE ${LRU} SET "used_at" = max("used_at", ?) WHERE "tbl" = ? AND "id" = (SELECT rowid FROM ${table} WHERE ${matchKey})`,
          )
        : undefined,
      sweep: db.prepare(
        `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE "expires_at" <= ? LIMIT ${SWEEP_BATCH})`,
      ),
    });
  }

  unregister(name: string): void {
    this.#tables.delete(name);
  }

  /** Whether an entry fits in the bounds at all: one larger than `maxBytes` is not stored. */
  accepts(entry: CacheEntry): boolean {
    return entrySize(entry) <= this.bounds.maxBytes;
  }

  /** Remembers a read, to stamp the entry as used with the next write. */
  touch(name: string, key: Key): void {
    if (!this.bounds.bounded || !this.bounds.trackAccess || this.#touches.length >= MAX_TOUCHES) return;
    this.#touches.push([name, key, this.#now()]);
  }

  /**
   * Runs a write in one immediate transaction with what keeps the store in bounds: recorded reads
   * stamped, least recently used entries evicted, and (now and then) a batch past retention removed.
   */
  async write(transaction: <T>(work: () => T) => T, work: () => void): Promise<void> {
    await retryBusy(() =>
      transaction(() => {
        this.#flushTouches();
        work();
        this.#evict();
        this.#sweepIfDue();
      }),
    );
    this.#vacuumIfDue();
  }

  /** After a write of an unbounded cache: a batch past retention, when one is due. */
  async afterUnboundedWrite(transaction: <T>(work: () => T) => T): Promise<void> {
    if (this.bounds.retention === null || this.#now() - this.#lastSweep < SWEEP_EVERY_MS) return;
    await retryBusy(() => transaction(() => this.#sweepIfDue()));
    this.#vacuumIfDue();
  }

  /** The entries and bytes the store holds, as counted against the bounds. */
  usage(): StoreUsage {
    const db = this.#db;
    if (db === undefined) return { entries: 0, bytes: 0 };
    if (this.#usage !== undefined) {
      const [entries, bytes] = this.#usage.get() as [number, number];
      return { entries, bytes };
    }
    let entries = 0;
    let bytes = 0;
    for (const [name, hooks] of this.#tables) {
      const keys = (
        db.prepare("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk").pluck().all(name) as string[]
      ).map(quote);
      const [count, sum] = db
        .prepare(`SELECT COUNT(*), ifnull(SUM(${sizeExpression(hooks.quoted, keys)}), 0) FROM ${hooks.quoted}`)
        .raw()
        .get() as [number, number];
      entries += count;
      bytes += sum;
    }
    return { entries, bytes };
  }

  #flushTouches(): void {
    if (this.#touches.length === 0) return;
    const touches = this.#touches;
    this.#touches = [];
    for (const [name, key, at] of touches) this.#tables.get(name)?.touch?.run(at, name, ...key);
  }

  #evict(): void {
    const { maxEntries, maxBytes } = this.bounds;
    let [entries, bytes] = (this.#usage as Statement).get() as [number, number];
    while (entries > maxEntries || bytes > maxBytes) {
      const batch = Math.min(Math.max(entries - maxEntries, 16), 256);
      const rows = (this.#oldest as Statement).all(batch) as [string, number, number][];
      if (rows.length === 0) return;
      for (const [name, id, size] of rows) {
        this.#remove(name, id);
        entries--;
        bytes -= size;
        if (entries <= maxEntries && bytes <= maxBytes) return;
      }
    }
  }

  /** Removes one entry by its table and rowid; a table that is gone loses its bookkeeping instead. */
  #remove(name: string, id: number): void {
    const db = this.#db as Database;
    let statement = this.#deleteByRowid.get(name);
    if (statement === undefined) {
      try {
        statement = db.prepare(`DELETE FROM ${quote(name)} WHERE rowid = ?`);
      } catch {
        db.prepare(`DELETE FROM ${LRU} WHERE "tbl" = ?`).run(name);
        db.prepare(`DELETE FROM ${USAGE} WHERE "tbl" = ?`).run(name);
        return;
      }
      this.#deleteByRowid.set(name, statement);
    }
    if (statement.run(id).changes === 0) {
      // A row without its entry: the bookkeeping is repaired, so the loop moves on.
      const size = db.prepare(`DELETE FROM ${LRU} WHERE "tbl" = ? AND "id" = ? RETURNING "size"`).pluck().get(name, id);
      if (typeof size === "number") {
        db.prepare(`UPDATE ${USAGE} SET "entries" = "entries" - 1, "bytes" = "bytes" - ? WHERE "tbl" = ?`).run(
          size,
          name,
        );
      }
    }
  }

  /** One batch per table of entries past retention, at most once per {@link SWEEP_EVERY_MS}; true if a batch was full. */
  #sweepIfDue(): boolean {
    const retention = this.bounds.retention;
    const now = this.#now();
    if (retention === null || now - this.#lastSweep < SWEEP_EVERY_MS) return false;
    this.#lastSweep = now;
    const cutoff = retentionCutoff(now, retention);
    let full = false;
    for (const hooks of this.#tables.values()) {
      if (hooks.sweep.run(cutoff).changes === SWEEP_BATCH) full = true;
    }
    // A full batch leaves more behind: the next write (or the timer) takes the next one.
    if (full) this.#lastSweep = Number.NEGATIVE_INFINITY;
    return full;
  }

  /** Gives free pages back to the file system, a step at a time, once enough have piled up. */
  #vacuumIfDue(): void {
    const db = this.#db;
    if (db === undefined || !db.open) return;
    try {
      if ((db.pragma("freelist_count", { simple: true }) as number) > FREE_PAGES_KEPT) {
        db.pragma(`incremental_vacuum(${VACUUM_STEP})`);
      }
    } catch {
      // Busy or not in incremental mode: the pages stay free for the next writes to reuse.
    }
  }

  #onTimer(): void {
    const db = this.#db;
    if (db === undefined || !db.open) return;
    this.#timerRuns++;
    const sweepDue = this.bounds.retention !== null && this.#timerRuns % 60 === 0;
    if (this.#touches.length === 0 && !sweepDue) return;
    try {
      db.transaction(() => {
        this.#flushTouches();
        if (sweepDue) {
          this.#lastSweep = Number.NEGATIVE_INFINITY;
          this.#sweepIfDue();
        }
      }).immediate();
      this.#vacuumIfDue();
    } catch {
      // Busy: the next tick or write tries again. Any other failure shows on the next write.
    }
  }
}

/** The triggers that keep `requestful_lru` and `requestful_usage` true for one table. */
function installTriggers(db: Database, name: string, table: string, keys: readonly string[]): void {
  const prefix = `${LRU_TABLE}:${name}`;
  const existing = db
    .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?")
    .pluck()
    .get(`${prefix}:insert`) as string | undefined;
  const tbl = literal(name);
  const newSize = sizeExpression("NEW", keys);
  if (existing !== undefined) {
    if (existing.includes(newSize)) return;
    // Triggers of an earlier release, which counted fewer columns: replaced, and every entry's size
    // counted again the new way, its last use kept.
    for (const kind of ["insert", "update", "delete"]) db.exec(`DROP TRIGGER IF EXISTS ${quote(`${prefix}:${kind}`)}`);
    db.exec(
      `UPDATE ${LRU} SET "size" = ifnull((SELECT ${sizeExpression(table, keys)} FROM ${table} WHERE ${table}.rowid = ${LRU}."id"), "size") WHERE "tbl" = ${tbl};` +
        `UPDATE ${USAGE} SET "bytes" = (SELECT ifnull(SUM("size"), 0) FROM ${LRU} WHERE "tbl" = ${tbl}) WHERE "tbl" = ${tbl};`,
    );
  } else {
    // Entries written before the table was bounded are counted now, used in the order they were cached.
    db.prepare(`DELETE FROM ${LRU} WHERE "tbl" = ?`).run(name);
    db.exec(
      `INSERT INTO ${LRU} ("tbl", "id", "size", "used_at") SELECT ${tbl}, rowid, ${sizeExpression(table, keys)}, "cached_at" FROM ${table};` +
        `INSERT OR REPLACE INTO ${USAGE} ("tbl", "entries", "bytes") SELECT ${tbl}, COUNT(*), ifnull(SUM("size"), 0) FROM ${LRU} WHERE "tbl" = ${tbl};`,
    );
  }
  const oldSize = `(SELECT "size" FROM ${LRU} WHERE "tbl" = ${tbl} AND "id" = OLD.rowid)`;
  db.exec(
    `CREATE TRIGGER ${quote(`${prefix}:insert`)} AFTER INSERT ON ${table} BEGIN ` +
      `INSERT OR REPLACE INTO ${LRU} ("tbl", "id", "size", "used_at") VALUES (${tbl}, NEW.rowid, ${newSize}, NEW."cached_at"); ` +
      `UPDATE ${USAGE} SET "entries" = "entries" + 1, "bytes" = "bytes" + ${newSize} WHERE "tbl" = ${tbl}; END;` +
      `CREATE TRIGGER ${quote(`${prefix}:update`)} AFTER UPDATE ON ${table} BEGIN ` +
      `UPDATE ${USAGE} SET "bytes" = "bytes" - ifnull(${oldSize}, 0) + ${newSize} WHERE "tbl" = ${tbl}; ` +
      `UPDATE ${LRU} SET "id" = NEW.rowid, "size" = ${newSize}, "used_at" = max("used_at", NEW."cached_at") WHERE "tbl" = ${tbl} AND "id" = OLD.rowid; END;` +
      `CREATE TRIGGER ${quote(`${prefix}:delete`)} AFTER DELETE ON ${table} BEGIN ` +
      `UPDATE ${USAGE} SET "entries" = "entries" - 1, "bytes" = "bytes" - ifnull(${oldSize}, 0) WHERE "tbl" = ${tbl}; ` +
      `DELETE FROM ${LRU} WHERE "tbl" = ${tbl} AND "id" = OLD.rowid; END;`,
  );
}
