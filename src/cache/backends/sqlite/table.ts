import { CacheError } from "../../../errors.js";
import { asUint8Array } from "../../../payload/convert.js";
import type { StoredPayload } from "../../../payload/handler.js";
import type { Key } from "../../../types.js";
import type { RepositoryStats, ResolvedFilter } from "../../admin.js";
import type { CacheEntry } from "../../entry.js";
import { ownKey } from "../../key.js";
import { type RepositoryOptions, ResponseRepository } from "../../repository.js";
import type { ResponseRepositorySettings } from "../../settings.js";
import * as admin from "./admin.js";
import type { SQLiteBounds } from "./bounds.js";
import { getNow, retryBusy } from "./busy.js";
import type { SQLiteDatabase as Database, SQLiteStatement as Statement } from "./database.js";
import {
  ADDED_COLUMNS,
  checkTableName,
  chunks,
  foldIdentifier,
  MAX_PARAMETERS,
  placeholders,
  quote,
  rowsOfPlaceholders,
  VALUE_COLUMNS,
} from "./sql.js";

const SCAN_BATCH = 256;
const STATEMENT_CACHE_LIMIT = 32;

type Row = unknown[];

/**
 * A repository stored as one SQLite table: one column per key part (the method, then each field,
 * stored with the type it was given), the name, `cached_at` and `expires_at` (epoch milliseconds,
 * `expires_at` indexed), the payload (TEXT or BLOB), and the response's status, headers and URL.
 *
 * @example
 * const db = new Database("cache.sqlite");
 * const tracks = await new SQLiteTable(db, trackSettings, { expire: { weeks: 2 } }).create();
 */
export class SQLiteTable<K extends Key = Key, V = unknown> extends ResponseRepository<K, V> {
  readonly backend = "sqlite";
  readonly #connection: () => Database;
  readonly #table: string;
  readonly #keyColumns: readonly string[];
  #sql: Statements | undefined;
  #bounds: SQLiteBounds | undefined;
  /** Called after each commit: resolves once it is durable; `undefined` when it is durable already. */
  #committed: (atTurnEnd?: boolean) => Promise<void> | undefined = () => undefined;

  /**
   * @param connection An open better-sqlite3 database, or a function that returns the one its cache opened.
   */
  constructor(
    connection: Database | (() => Database),
    settings: ResponseRepositorySettings<V>,
    options: RepositoryOptions = {},
  ) {
    super(settings, options);
    checkTableName(settings.name);
    this.#connection = typeof connection === "function" ? connection : () => connection;
    this.#table = quote(settings.name);
    this.#keyColumns = ["method", ...settings.fields];
  }

  /** The database this table lives in. */
  get connection(): Database {
    return this.#connection();
  }

  /**
   * What a write calls after its commit, set by the cache: resolves once the commit is durable
   * where the cache syncs the log after commits (`synchronous: "full"`). A table on a database of
   * one's own relies on the database's own `synchronous` setting.
   */
  useCommits(committed: (atTurnEnd?: boolean) => Promise<void> | undefined): void {
    this.#committed = committed;
  }

  /** Keeps this table within its cache's bounds (set by the cache before the table is created). */
  useBounds(bounds: SQLiteBounds): void {
    this.#bounds = bounds;
  }

  protected async setUp(): Promise<void> {
    const db = this.#connection();
    await retryBusy(() => this.#createTable(db));
    const bounds = this.#bounds;
    if (bounds !== undefined) {
      await retryBusy(() => db.transaction(() => bounds.register(db, this.name, this.#keyColumns)).immediate());
    }
    this.#sql = new Statements(db, this.#table, this.#keyColumns.map(quote));
    await this.#committed();
  }

  #createTable(db: Database): void {
    const existing = db.prepare("SELECT name FROM pragma_table_info(?)").pluck().all(this.settings.name) as string[];
    const wanted = [...this.#keyColumns, ...VALUE_COLUMNS];
    const missing: (readonly [string, string])[] = [];
    if (existing.length > 0) {
      const have = new Set(existing.map(foldIdentifier));
      // A table of an earlier release lacks the columns added since: they are added in place.
      for (const added of ADDED_COLUMNS) if (!have.has(foldIdentifier(added[0]))) missing.push(added);
      const same =
        have.size + missing.length === wanted.length &&
        wanted.every((column) => have.has(foldIdentifier(column)) || missing.some(([name]) => name === column));
      if (!same) {
        throw new CacheError(
          `table "${this.name}" exists with columns (${existing.join(", ")}) but these settings need ` +
            `(${wanted.join(", ")}); clear it, or give the repository another name`,
        );
      }
    }
    const keys = this.#keyColumns.map(quote);
    db.transaction(() => {
      for (const [name, type] of missing) db.exec(`ALTER TABLE ${this.#table} ADD COLUMN ${quote(name)} ${type}`);
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${this.#table} (
          ${keys.map((column) => `${column} NOT NULL`).join(",\n          ")},
          "name" TEXT,
          "cached_at" INTEGER NOT NULL,
          "expires_at" INTEGER NOT NULL,
          "payload" NOT NULL,
          "status" INTEGER,
          "headers" TEXT,
          "url" TEXT,
          "meta" TEXT,
          PRIMARY KEY (${keys.join(", ")})
        )`,
      );
      db.exec(
        `CREATE INDEX IF NOT EXISTS ${quote(`requestful_idx:${this.name}:expires_at`)} ON ${this.#table} ("expires_at")`,
      );
    }).immediate();
  }

  protected override async tearDown(): Promise<void> {
    this.#bounds?.unregister(this.name);
    this.#sql = undefined;
  }

  get #statements(): Statements {
    if (this.#sql === undefined) throw new CacheError(`table "${this.name}" is not open`);
    return this.#sql;
  }

  protected override async readPayload(key: K, now: number): Promise<StoredPayload | undefined> {
    let payload = getNow(this.#statements.selectPayload, [now, ...key]) as string | Buffer | undefined;
    if (payload instanceof Promise) payload = (await payload) as string | Buffer | undefined;
    if (payload !== undefined) this.#bounds?.touch(this.name, key);
    return typeof payload === "string" || payload === undefined ? payload : asUint8Array(payload);
  }

  protected override async readEntry(key: K, now: number | undefined): Promise<CacheEntry<K> | undefined> {
    const sql = this.#statements;
    let row = (now === undefined ? getNow(sql.selectAnyEntry, [...key]) : getNow(sql.selectEntry, [now, ...key])) as
      | Row
      | undefined;
    if (row instanceof Promise) row = (await row) as Row | undefined;
    if (row === undefined) return undefined;
    this.#bounds?.touch(this.name, key);
    return entryOf(ownKey(key), row, 0);
  }

  protected override readPayloadEntry(
    key: K,
    now: number,
  ): CacheEntry<K> | undefined | Promise<CacheEntry<K> | undefined> {
    const row = getNow(this.#statements.selectPayloadEntry, [now, ...key]) as Row | undefined | Promise<unknown>;
    // Busy: the read is tried again after a pause.
    if (row instanceof Promise) return row.then((busyRow) => this.#payloadEntry(key, busyRow as Row | undefined));
    return this.#payloadEntry(key, row);
  }

  #payloadEntry(key: K, row: Row | undefined): CacheEntry<K> | undefined {
    if (row === undefined) return undefined;
    this.#bounds?.touch(this.name, key);
    const payload = row[2] as string | Buffer;
    return {
      key: ownKey(key),
      name: null,
      cachedAt: row[0] as number,
      expiresAt: row[1] as number,
      payload: typeof payload === "string" ? payload : asUint8Array(payload),
      status: row[3] as number | null,
      headers: null,
      url: null,
      meta: (row[4] as string | null | undefined) ?? null,
    };
  }

  protected override async hasEntry(key: K, now: number): Promise<boolean> {
    const sql = this.#statements;
    return (await retryBusy(() => sql.exists.get(now, ...key))) !== undefined;
  }

  protected async readEntries(keys: readonly K[], now: number | undefined): Promise<CacheEntry<K>[]> {
    const sql = this.#statements;
    const width = this.#keyColumns.length;
    // Every stored instant is later than −∞: with `now` undefined, expired entries are read too.
    const after = now ?? Number.NEGATIVE_INFINITY;
    const rows = await retryBusy(() => {
      const found: Row[] = [];
      for (const chunk of chunks(keys, Math.floor((MAX_PARAMETERS - 1) / width))) {
        found.push(...(sql.selectMany(chunk.length).all(after, ...chunk.flat()) as Row[]));
      }
      return found;
    });
    const entries = rows.map((row) => this.#toEntry(row));
    for (const entry of entries) this.#bounds?.touch(this.name, entry.key);
    return entries;
  }

  protected override async writeEntry(entry: CacheEntry<K>, visible?: () => void): Promise<void> {
    const sql = this.#statements;
    const bounds = this.#bounds;
    if (bounds?.bounded) {
      if (bounds.accepts(entry)) await bounds.write(sql.transaction, () => sql.upsert.run(toRow(entry)));
    } else {
      await retryBusy(() => sql.upsert.run(toRow(entry)));
      await bounds?.afterUnboundedWrite(sql.transaction);
    }
    visible?.();
    // A writer told that its entry is readable goes on: its sync can wait for the end of the turn.
    await this.#committed(visible !== undefined);
  }

  protected async writeEntries(entries: readonly CacheEntry<K>[]): Promise<void> {
    const sql = this.#statements;
    const bounds = this.#bounds;
    if (bounds?.bounded) {
      const kept = entries.filter((entry) => bounds.accepts(entry));
      await bounds.write(sql.transaction, () => {
        for (const entry of kept) sql.upsert.run(toRow(entry));
      });
      await this.#committed();
      return;
    }
    // One immediate transaction around one prepared upsert: measured faster here than multi-row
    // INSERTs, which must bind every row's values at once.
    await retryBusy(() =>
      sql.transaction(() => {
        for (const entry of entries) sql.upsert.run(toRow(entry));
      }),
    );
    await bounds?.afterUnboundedWrite(sql.transaction);
    await this.#committed();
  }

  protected async removeEntries(keys: readonly K[]): Promise<number> {
    const sql = this.#statements;
    const perChunk = Math.floor(MAX_PARAMETERS / this.#keyColumns.length);
    const removed = await retryBusy(() =>
      sql.transaction(() => {
        let removed = 0;
        for (const chunk of chunks(keys, perChunk)) removed += sql.deleteMany(chunk.length).run(chunk.flat()).changes;
        return removed;
      }),
    );
    await this.#committed();
    return removed;
  }

  protected async countEntries(now: number | undefined): Promise<number> {
    const sql = this.#statements;
    return retryBusy(() => (now === undefined ? sql.countAll.get() : sql.countLive.get(now)) as number);
  }

  protected async clearEntries(now: number | undefined): Promise<number> {
    const sql = this.#statements;
    const cleared = await retryBusy(() => (now === undefined ? sql.clearAll.run() : sql.clearExpired.run(now)).changes);
    await this.#committed();
    return cleared;
  }

  protected async *scanEntries(now: number): AsyncGenerator<CacheEntry<K>> {
    let after = 0;
    for (;;) {
      const sql = this.#statements;
      const rows = await retryBusy(() => sql.scan.all(after, now, SCAN_BATCH) as Row[]);
      for (const row of rows) yield this.#toEntry(row.slice(1));
      if (rows.length < SCAN_BATCH) return;
      after = (rows.at(-1) as Row)[0] as number;
    }
  }

  protected override countMatching(filter: ResolvedFilter): Promise<number> {
    return admin.countMatching(this.#connection(), this.#table, filter);
  }

  protected override async purgeMatching(filter: ResolvedFilter, limit: number): Promise<number> {
    const purged = await admin.purgeMatching(this.#connection(), this.#table, filter, limit);
    await this.#committed();
    return purged;
  }

  protected override measureEntries(now: number): Promise<RepositoryStats> {
    return admin.measureEntries(this.#connection(), this.#table, now);
  }

  /** An entry from a row of the key columns, then the value columns. */
  #toEntry(row: Row): CacheEntry<K> {
    const width = this.#keyColumns.length;
    return entryOf(row.slice(0, width) as unknown as K, row, width);
  }
}

/** An entry of `key` from the value columns of a row, which start at `at`. */
function entryOf<K extends Key>(key: K, row: Row, at: number): CacheEntry<K> {
  const payload = row[at + 3] as string | Buffer;
  return {
    key,
    name: row[at] as string | null,
    cachedAt: row[at + 1] as number,
    expiresAt: row[at + 2] as number,
    payload: typeof payload === "string" ? payload : asUint8Array(payload),
    status: row[at + 4] as number | null,
    headers: row[at + 5] as string | null,
    url: row[at + 6] as string | null,
    meta: (row[at + 7] as string | null | undefined) ?? null,
  };
}

function toRow(entry: CacheEntry): unknown[] {
  const { payload } = entry;
  return [
    // better-sqlite3 binds every number as REAL; whole numbers go in as INTEGER, as a reader of the table expects.
    ...entry.key.map((part) => (typeof part === "number" && Number.isSafeInteger(part) ? BigInt(part) : part)),
    entry.name,
    entry.cachedAt,
    entry.expiresAt,
    typeof payload === "string" ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
    entry.status,
    entry.headers,
    entry.url,
    entry.meta ?? null,
  ];
}

/** The prepared statements of one table; those for many rows are prepared per row count and kept. */
class Statements {
  readonly selectPayload: Statement;
  readonly selectEntry: Statement;
  /** The entry for a key, expired or not. */
  readonly selectAnyEntry: Statement;
  /** What answering with a live entry's payload needs. */
  readonly selectPayloadEntry: Statement;
  readonly upsert: Statement;
  readonly exists: Statement;
  readonly countAll: Statement;
  readonly countLive: Statement;
  readonly clearAll: Statement;
  readonly clearExpired: Statement;
  readonly scan: Statement;
  readonly transaction: <T>(work: () => T) => T;
  readonly #db: Database;
  readonly #table: string;
  readonly #keys: readonly string[];
  readonly #columns: string;
  readonly #byCount = new Map<string, Statement>();

  constructor(db: Database, table: string, keys: readonly string[]) {
    this.#db = db;
    this.#table = table;
    this.#keys = keys;
    this.#columns = [...keys, ...VALUE_COLUMNS.map(quote)].join(", ");
    const matchKey = keys.map((column) => `${column} = ?`).join(" AND ");
    this.selectPayload = db.prepare(`SELECT "payload" FROM ${table} WHERE "expires_at" > ? AND ${matchKey}`).pluck();
    // A read by key selects the values only: the caller has the key.
    const values = VALUE_COLUMNS.map(quote).join(", ");
    this.selectEntry = db.prepare(`SELECT ${values} FROM ${table} WHERE "expires_at" > ? AND ${matchKey}`).raw();
    this.selectAnyEntry = db.prepare(`SELECT ${values} FROM ${table} WHERE ${matchKey}`).raw();
    this.selectPayloadEntry = db
      .prepare(
        `SELECT "cached_at", "expires_at", "payload", "status", "meta" FROM ${table} WHERE "expires_at" > ? AND ${matchKey}`,
      )
      .raw();
    const update = VALUE_COLUMNS.map((column) => `${quote(column)} = excluded.${quote(column)}`).join(", ");
    this.upsert = db.prepare(
      `INSERT INTO ${table} (${this.#columns}) VALUES ${placeholders(keys.length + VALUE_COLUMNS.length)} ` +
        `ON CONFLICT (${keys.join(", ")}) DO UPDATE SET ${update}`,
    );
    this.exists = db.prepare(`SELECT 1 FROM ${table} WHERE "expires_at" > ? AND ${matchKey}`).pluck();
    this.countAll = db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck();
    this.countLive = db.prepare(`SELECT COUNT(*) FROM ${table} WHERE "expires_at" > ?`).pluck();
    this.clearAll = db.prepare(`DELETE FROM ${table}`);
    this.clearExpired = db.prepare(`DELETE FROM ${table} WHERE "expires_at" <= ?`);
    this.scan = db
      .prepare(
        `SELECT rowid, ${this.#columns} FROM ${table} WHERE rowid > ? AND "expires_at" > ? ORDER BY rowid LIMIT ?`,
      )
      .raw();
    // Immediate transactions take the write lock at once, so two writers wait in turn instead of
    // one failing with SQLITE_BUSY when it upgrades a read lock.
    const inTransaction = db.transaction((work: () => unknown) => work());
    this.transaction = <T>(work: () => T) => inTransaction.immediate(work) as T;
  }

  #cached(kind: string, count: number, make: () => Statement): Statement {
    const id = `${kind}:${count}`;
    let statement = this.#byCount.get(id);
    if (statement === undefined) {
      if (this.#byCount.size >= STATEMENT_CACHE_LIMIT) this.#byCount.clear();
      statement = make();
      this.#byCount.set(id, statement);
    }
    return statement;
  }

  selectMany(count: number): Statement {
    return this.#cached("select", count, () =>
      this.#db
        .prepare(
          `SELECT ${this.#columns} FROM ${this.#table} WHERE "expires_at" > ? AND (${this.#keys.join(", ")}) IN ` +
            `(VALUES ${rowsOfPlaceholders(count, this.#keys.length)})`,
        )
        .raw(),
    );
  }

  deleteMany(count: number): Statement {
    return this.#cached("delete", count, () =>
      this.#db.prepare(
        `DELETE FROM ${this.#table} WHERE (${this.#keys.join(", ")}) IN ` +
          `(VALUES ${rowsOfPlaceholders(count, this.#keys.length)})`,
      ),
    );
  }
}
