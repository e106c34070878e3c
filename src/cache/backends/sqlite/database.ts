/**
 * The members of a better-sqlite3 database and its statements that requestful uses and shows, as
 * plain structural types, so that the published types compile without better-sqlite3's own
 * declarations. A better-sqlite3 `Database` is an `SQLiteDatabase`; cast the other way
 * (`cache.connection as BetterSqlite3.Database`) to reach the rest of its API.
 */

/** What running a writing statement reports. */
export interface SQLiteRunResult {
  /** How many rows the statement inserted, updated or deleted. */
  changes: number;
  /** The rowid of the last row inserted. */
  lastInsertRowid: number | bigint;
}

/** Options of {@link SQLiteDatabase.pragma}. */
export interface SQLitePragmaOptions {
  /**
   * Whether to return the first column of the first row only, instead of every row.
   * @default false
   * @example { simple: true }
   */
  simple?: boolean | undefined;
}

/** A prepared statement of an {@link SQLiteDatabase} (a better-sqlite3 `Statement`). */
export interface SQLiteStatement {
  /** The SQL text the statement was prepared from. */
  readonly source: string;
  /** Whether the statement returns rows. */
  readonly reader: boolean;
  /** Runs a statement that writes. */
  run(...params: unknown[]): SQLiteRunResult;
  /** The first row, or `undefined` when there is none. */
  get(...params: unknown[]): unknown;
  /** Every row. */
  all(...params: unknown[]): unknown[];
  /** The rows one at a time. */
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Makes the statement return the first column's value instead of rows as objects. */
  pluck(toggleState?: boolean): this;
  /** Makes the statement return rows as arrays instead of objects. */
  raw(toggleState?: boolean): this;
}

/** The parameters of a function given to {@link SQLiteDatabase.transaction}. */
export type SQLiteTransactionParameters<F> = F extends (...params: infer P) => unknown ? P : never;

/** A function that runs in a transaction, made by {@link SQLiteDatabase.transaction}. */
// biome-ignore lint/suspicious/noExplicitAny: better-sqlite3 accepts a function of any parameters.
export interface SQLiteTransaction<F extends (...params: any[]) => unknown> {
  (...params: SQLiteTransactionParameters<F>): ReturnType<F>;
  /** Runs in a `BEGIN DEFERRED` transaction (the default). */
  deferred(...params: SQLiteTransactionParameters<F>): ReturnType<F>;
  /** Runs in a `BEGIN IMMEDIATE` transaction: takes the write lock at once. */
  immediate(...params: SQLiteTransactionParameters<F>): ReturnType<F>;
  /** Runs in a `BEGIN EXCLUSIVE` transaction. */
  exclusive(...params: SQLiteTransactionParameters<F>): ReturnType<F>;
}

/**
 * An open SQLite database: a better-sqlite3 `Database`, described by the members that requestful
 * uses. Any better-sqlite3 database can be given where one is asked for.
 *
 * @example
 * import Database from "better-sqlite3";
 * const db: SQLiteDatabase = new Database("cache.sqlite");
 */
export interface SQLiteDatabase {
  /** The path of the database file, or `:memory:`. */
  readonly name: string;
  /** Whether the database is open. */
  readonly open: boolean;
  /** Whether a transaction is under way. */
  readonly inTransaction: boolean;
  /** Whether the database is held in memory. */
  readonly memory: boolean;
  /** Whether the database was opened read-only. */
  readonly readonly: boolean;
  /** Prepares a statement. */
  prepare(source: string): SQLiteStatement;
  /** Runs SQL text of one or more statements, with no parameters. */
  exec(source: string): this;
  /** Runs a `PRAGMA` and returns its rows (or its value, with `{ simple: true }`). */
  pragma(source: string, options?: SQLitePragmaOptions): unknown;
  /** Wraps a function so that it runs in a transaction. */
  // biome-ignore lint/suspicious/noExplicitAny: better-sqlite3 accepts a function of any parameters.
  transaction<F extends (...params: any[]) => unknown>(fn: F): SQLiteTransaction<F>;
  /** Closes the database. */
  close(): this;
}
