import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { describeValue } from "../../../describe.js";
import { CacheError } from "../../../errors.js";
import { BOUNDS_OPTIONS, type BoundsOptions, resolveBounds, type StoreUsage } from "../../bounds.js";
import { CACHE_OPTIONS, type CacheOptions, checkOptionNames, ResponseCache, type StoreSize } from "../../cache.js";
import type { RepositoryRecord } from "../../records.js";
import type { RepositoryOptions } from "../../repository.js";
import type { ResponseRepositorySettings } from "../../settings.js";
import type { StoreLocks } from "../../single-flight.js";
import * as admin from "./admin.js";
import { SQLiteBounds } from "./bounds.js";
import { retryBusy } from "./busy.js";
import type { SQLiteDatabase as Database } from "./database.js";
import { SQLiteLocks } from "./lock.js";
import { foldIdentifier, META_TABLE, quote, SCHEMA_VERSION } from "./sql.js";
import { applyStorageSettings } from "./storage.js";
import { LogSync } from "./sync.js";
import { SQLiteTable } from "./table.js";

/** The path of an SQLite database held in memory only. */
export const IN_MEMORY = ":memory:";

const OPTIONS = [...CACHE_OPTIONS, ...BOUNDS_OPTIONS, "busyTimeout", "synchronous"];

/** Options of an SQLite cache. */
export interface SQLiteCacheOptions extends CacheOptions, BoundsOptions {
  /**
   * How long SQLite waits for another connection's lock before a call retries, in milliseconds.
   * Calls keep retrying for up to a minute in all, so a lock error does not reach the caller.
   * @default 5_000
   * @example 1_000
   */
  busyTimeout?: number;
  /**
   * How durable a write is once it resolves. `"full"`: it survives a power loss as well as a crash
   * of the process — the connection commits at SQLite's `synchronous = NORMAL` (in WAL mode) and
   * the write resolves once a sync of the log, run off the event loop and shared by the commits
   * made meanwhile, has returned (a database without a log runs at SQLite's `FULL`). `"normal"`:
   * no sync, so a write survives a crash of the process, but a power loss may undo the last ones.
   * @default "full"
   * @example "normal"
   */
  synchronous?: "full" | "normal";
}

/**
 * A cache in one SQLite file (or in memory), one table per repository: the embedded default,
 * nothing to run. Many processes may share a file: it runs in WAL mode, and writers wait their turn.
 *
 * @example
 * const cache = SQLiteCache.connectWithPath("cache/api"); // cache/api.sqlite, folders created
 * cache.createRepository(trackSettings);
 * await cache.connect();
 */
export class SQLiteCache extends ResponseCache<SQLiteTable> {
  readonly type = "sqlite";
  /** The database file, or `:memory:`. */
  readonly path: string;
  readonly #busyTimeout: number;
  readonly #synchronous: "full" | "normal";
  /** Set by a `file:` URL with `mode=rw`: the file must exist, and is never created. */
  #mustExist = false;
  #db: Database | undefined;
  readonly #bounds: SQLiteBounds;
  #locks: SQLiteLocks | undefined;
  /** With `synchronous: "full"` in WAL mode: the syncs of the log that make commits durable. */
  #sync: LogSync | undefined;

  constructor(path: string, options: SQLiteCacheOptions = {}) {
    if (typeof path !== "string" || path.length === 0) {
      throw new TypeError(`SQLiteCache takes a database path, got ${describeValue(path)}`);
    }
    checkOptionNames(options, OPTIONS, "SQLiteCache");
    super({ name: path, ...options });
    this.path = path;
    this.#busyTimeout = options.busyTimeout ?? 5_000;
    if (!Number.isInteger(this.#busyTimeout) || this.#busyTimeout < 0) {
      throw new RangeError(
        `busyTimeout must be a whole number of milliseconds, got ${describeValue(options.busyTimeout)}`,
      );
    }
    this.#synchronous = options.synchronous ?? "full";
    if (this.#synchronous !== "full" && this.#synchronous !== "normal") {
      throw new RangeError(`synchronous must be "full" or "normal", got ${describeValue(options.synchronous)}`);
    }
    this.#bounds = new SQLiteBounds(resolveBounds(options), this.now);
  }

  /** How many entries and bytes the file holds, as counted against `maxEntries` and `maxBytes`. */
  async usage(): Promise<StoreUsage> {
    const bounds = this.#bounds;
    if (!this.connected) throw new CacheError(`SQLite cache "${this.path}" is not connected: call connect() first`);
    return retryBusy(() => bounds.usage());
  }

  /**
   * A cache for a path or URL, the path used as it is (no suffix added):
   *
   * - `:memory:`, `sqlite::memory:` or `sqlite://:memory:`: in memory;
   * - `sqlite:PATH` (relative or absolute) or `sqlite:///ABSOLUTE/PATH`;
   * - a `file:` URI as SQLite reads one: `file:data.db` (relative to the working folder),
   *   `file:///abs/data.db` or `file://localhost/abs/data.db`, `%HH` escapes decoded;
   *   `file::memory:` or `?mode=memory` for memory; `?mode=rwc` (the default) creates the file,
   *   `?mode=rw` needs it to exist; `?cache=shared|private` is accepted, though each cache opens its
   *   own database (better-sqlite3 opens no shared cache). `mode=ro` is refused, since a cache
   *   writes, and so are other parameters;
   * - a plain path.
   *
   * @example SQLiteCache.connect("file::memory:?cache=shared") // in memory
   * @example SQLiteCache.connect("file:cache/api.sqlite?mode=rw") // ./cache/api.sqlite, which must exist
   */
  static connect(value: string | URL, options: SQLiteCacheOptions = {}): SQLiteCache {
    const location = parseLocation(value);
    const cache = new SQLiteCache(location.path, options);
    cache.#mustExist = location.mustExist;
    return cache;
  }

  /** A cache in the file at `path`, with `.sqlite` added unless the name ends with it. Missing folders are created. */
  static connectWithPath(path: string, options: SQLiteCacheOptions = {}): SQLiteCache {
    if (typeof path !== "string" || path.length === 0) {
      throw new TypeError(`connectWithPath takes a file path, got ${describeValue(path)}`);
    }
    return new SQLiteCache(withSuffix(path), options);
  }

  /** A cache in memory, gone when it closes. */
  static connectWithInMemoryDb(options: SQLiteCacheOptions = {}): SQLiteCache {
    return new SQLiteCache(IN_MEMORY, options);
  }

  /** A cache in a file in the system's temporary folder. */
  static connectWithTempDb(name = "requestful_db.tmp", options: SQLiteCacheOptions = {}): SQLiteCache {
    return new SQLiteCache(withSuffix(join(tmpdir(), name)), options);
  }

  /** The open better-sqlite3 database. */
  get connection(): Database {
    if (this.#db === undefined || !this.#db.open) {
      throw new CacheError(`SQLite cache "${this.path}" is not connected: call connect() first`);
    }
    return this.#db;
  }

  protected override checkRepositoryName(name: string): void {
    const folded = foldIdentifier(name);
    for (const other of this.keys()) {
      if (foldIdentifier(other) === folded) {
        throw new CacheError(
          `SQLite table names ignore the case of ASCII letters, so "${name}" would share a table with "${other}"`,
        );
      }
    }
  }

  protected override storeLocks(): StoreLocks | undefined {
    return this.#locks;
  }

  protected newRepository<V>(settings: ResponseRepositorySettings<V>, options: RepositoryOptions): SQLiteTable {
    const table = new SQLiteTable(() => this.connection, settings, options) as SQLiteTable;
    table.useBounds(this.#bounds);
    table.useCommits(this.#committed);
    return table;
  }

  /** Called after each commit: resolves once it is durable (at once unless the log is synced after commits). */
  readonly #committed = (atTurnEnd?: boolean): Promise<void> | undefined => this.#sync?.synced(atTurnEnd);

  protected override async saveRecord(record: RepositoryRecord): Promise<void> {
    await admin.saveRecord(this.connection, record);
    await this.#committed();
  }

  protected override loadRecords(): Promise<RepositoryRecord[]> {
    return admin.loadRecords(this.connection, this.path);
  }

  protected override async measureStore(): Promise<StoreSize> {
    return admin.measureStore(this.connection, this.path, this.path === IN_MEMORY);
  }

  protected override checkStore(): Promise<string[]> {
    return admin.checkStore(this.connection);
  }

  protected override async compactStore(): Promise<void> {
    await admin.compactStore(this.connection);
    await this.#committed();
  }

  protected async openConnection(): Promise<void> {
    const inMemory = this.path === IN_MEMORY;
    let db: Database;
    try {
      if (!inMemory && !this.#mustExist) mkdirSync(dirname(resolve(this.path)), { recursive: true });
      db = new BetterSqlite3(this.path, { timeout: this.#busyTimeout, fileMustExist: this.#mustExist });
    } catch (cause) {
      throw new CacheError(`could not open SQLite database "${this.path}": ${(cause as Error).message}`, { cause });
    }
    try {
      let wal = false;
      await retryBusy(() => {
        applyStorageSettings(db);
        wal = !inMemory && db.pragma("journal_mode = WAL", { simple: true }) === "wal";
        // "full" in WAL mode: commits at NORMAL, and each write resolves once the log is synced
        // after it, off the main thread (LogSync); otherwise SQLite's own setting.
        db.pragma(`synchronous = ${wal && this.#synchronous === "full" ? "normal" : this.#synchronous}`);
        checkSchema(db, this.path);
      });
      if (wal && this.#synchronous === "full") this.#sync = new LogSync(databaseFile(db));
      await retryBusy(() => db.transaction(() => this.#bounds.open(db)).immediate());
      this.#locks = new SQLiteLocks(db);
    } catch (cause) {
      db.close();
      this.#sync = undefined;
      if (cause instanceof CacheError) throw cause;
      throw new CacheError(
        `"${this.path}" is not a usable SQLite database: ${(cause as Error).message}; ` +
          "point the cache at a new file or at one that requestful wrote",
        { cause },
      );
    }
    this.#db = db;
  }

  protected override async keepMetadata(name: string, value: string): Promise<string> {
    const db = this.connection;
    const table = quote(META_TABLE);
    const kept = await retryBusy(() => {
      db.prepare(`INSERT OR IGNORE INTO ${table} ("key", "value") VALUES (?, ?)`).run(name, value);
      return db.prepare(`SELECT "value" FROM ${table} WHERE "key" = ?`).pluck().get(name) as string;
    });
    await this.#committed();
    return kept;
  }

  protected async closeConnection(): Promise<void> {
    const db = this.#db;
    const sync = this.#sync;
    // Releases asked for in this turn are written before the connection closes.
    await this.#locks?.flush().catch(() => {});
    this.#db = undefined;
    this.#locks = undefined;
    this.#sync = undefined;
    await sync?.close();
    this.#bounds.close();
    if (db?.open) db.close();
  }
}

/** Records the schema version in a new database, and refuses one written by a newer release. */
function checkSchema(db: Database, path: string): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS ${quote(META_TABLE)} ("key" TEXT PRIMARY KEY, "value" TEXT NOT NULL)`);
    db.prepare(`INSERT OR IGNORE INTO ${quote(META_TABLE)} ("key", "value") VALUES ('schema_version', ?)`).run(
      String(SCHEMA_VERSION),
    );
  }).immediate();
  const stored = db
    .prepare(`SELECT "value" FROM ${quote(META_TABLE)} WHERE "key" = 'schema_version'`)
    .pluck()
    .get();
  const version = Number(stored);
  if (!Number.isInteger(version) || version < 1) {
    throw new CacheError(`"${path}" records an unreadable schema version ${JSON.stringify(stored)}`);
  }
  if (version > SCHEMA_VERSION) {
    throw new CacheError(
      `"${path}" was written with schema version ${version}, newer than this release reads (${SCHEMA_VERSION}); ` +
        "upgrade requestful or use another file",
    );
  }
}

/** The main database's file, as SQLite resolved it (a `file:` URI or a relative path made absolute). */
function databaseFile(db: Database): string {
  const rows = db.pragma("database_list") as { name: string; file: string }[];
  return rows.find((row) => row.name === "main")?.file ?? db.name;
}

function withSuffix(path: string): string {
  return extname(path) === ".sqlite" ? path : `${path}.sqlite`;
}

interface Location {
  path: string;
  mustExist: boolean;
}

function parseLocation(value: string | URL): Location {
  const text = value instanceof URL ? value.href : value;
  if (typeof text !== "string" || text.length === 0) {
    throw new TypeError(`SQLiteCache.connect takes a path or URL, got ${describeValue(value)}`);
  }
  if (text === IN_MEMORY || text === "sqlite::memory:" || text === "sqlite://:memory:") {
    return { path: IN_MEMORY, mustExist: false };
  }
  if (/^file:/i.test(text)) return parseFileUri(text);
  if (text.startsWith("sqlite://")) {
    const rest = text.slice("sqlite://".length);
    if (!rest.startsWith("/")) {
      throw new CacheError(`sqlite:// URLs take an absolute path (sqlite:///path/to/db), got ${JSON.stringify(text)}`);
    }
    return { path: decodeURIComponent(rest), mustExist: false };
  }
  if (text.startsWith("sqlite:")) return { path: text.slice("sqlite:".length), mustExist: false };
  return { path: text, mustExist: false };
}

/** The `file:` URI parameters this backend follows. */
const URI_PARAMETERS = ["mode", "cache"];

/** A `file:` URI read as SQLite reads one (https://www.sqlite.org/uri.html). */
function parseFileUri(text: string): Location {
  const fail = (why: string) => new CacheError(`${JSON.stringify(text)} is not a usable SQLite file: URI: ${why}`);
  const [beforeFragment = ""] = text.slice("file:".length).split("#", 1);
  const query = beforeFragment.indexOf("?");
  let rest = query < 0 ? beforeFragment : beforeFragment.slice(0, query);
  const parameters = new URLSearchParams(query < 0 ? "" : beforeFragment.slice(query + 1));
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    const authority = rest.slice(2, slash < 0 ? rest.length : slash);
    if (authority !== "" && authority.toLowerCase() !== "localhost") {
      throw fail(`the authority must be empty or "localhost", got ${JSON.stringify(authority)}`);
    }
    rest = slash < 0 ? "" : rest.slice(slash);
  }
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    throw fail("a %HH escape in the path is malformed");
  }
  for (const name of parameters.keys()) {
    if (!URI_PARAMETERS.includes(name)) {
      throw fail(`the parameter "${name}" is not supported; the supported ones are ${URI_PARAMETERS.join(", ")}`);
    }
  }
  const mode = parameters.get("mode") ?? "rwc";
  const cache = parameters.get("cache") ?? "private";
  if (cache !== "shared" && cache !== "private") throw fail(`cache must be "shared" or "private", got "${cache}"`);
  switch (mode) {
    case "memory":
      return { path: IN_MEMORY, mustExist: false };
    case "rwc":
    case "rw":
      if (path === IN_MEMORY) return { path: IN_MEMORY, mustExist: false };
      if (path === "") throw fail("it names no file (write file::memory: for a database in memory)");
      return { path, mustExist: mode === "rw" };
    case "ro":
      throw fail("mode=ro opens the database read-only, and a cache writes to it; use mode=rw or mode=rwc");
    default:
      throw fail(`mode must be "rw", "rwc" or "memory", got "${mode}"`);
  }
}
