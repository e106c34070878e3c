import { setTimeout as sleep } from "node:timers/promises";
import type { StoreLocks } from "../../single-flight.js";
import { retryBusy } from "./busy.js";
import type { SQLiteDatabase as Database, SQLiteStatement as Statement } from "./database.js";
import { quote } from "./sql.js";

/** One row per key being fetched: who holds it, and until when. */
export const LOCK_TABLE = "requestful_locks";

/** The first pause between two looks at a lock, doubled each time up to {@link MAX_PAUSE_MS}. */
const FIRST_PAUSE_MS = 5;
const MAX_PAUSE_MS = 50;

/**
 * The lock table's definition. `WITHOUT ROWID`: a lock's commit then writes one page of the
 * table, not a row page and an index page (measured here: 60 µs instead of 105 µs for a lock taken
 * and released, checkpoints included).
 */
const LOCK_COLUMNS = `("id" TEXT PRIMARY KEY, "token" TEXT NOT NULL, "expires_at" INTEGER NOT NULL) WITHOUT ROWID`;

/**
 * Creates the lock table, or turns one of an earlier release (a rowid table) into the current
 * kind, its locks kept: in one immediate transaction, so that a process meets either table whole.
 */
function createLockTable(db: Database): void {
  const table = quote(LOCK_TABLE);
  const sql = db
    .prepare(`SELECT "sql" FROM sqlite_master WHERE "type" = 'table' AND "name" = ?`)
    .pluck()
    .get(LOCK_TABLE);
  if (typeof sql === "string" && /WITHOUT\s+ROWID/i.test(sql)) return;
  if (sql === undefined) {
    db.exec(`CREATE TABLE ${table} ${LOCK_COLUMNS}`);
    return;
  }
  const next = quote(`${LOCK_TABLE}_next`);
  db.exec(`CREATE TABLE ${next} ${LOCK_COLUMNS}`);
  db.exec(`INSERT INTO ${next} ("id", "token", "expires_at") SELECT "id", "token", "expires_at" FROM ${table}`);
  db.exec(`DROP TABLE ${table}`);
  db.exec(`ALTER TABLE ${next} RENAME TO ${table}`);
}

/** The lock table's statements, and the transactions that release (and take) locks. */
interface LockStatements {
  readonly acquire: Statement;
  readonly look: Statement;
  /** Deletes the rows of these releases, in one immediate transaction. */
  releaseMany(releases: readonly QueuedRelease[]): void;
  /** Deletes the rows of these releases and takes a lock, in one immediate transaction; the lock's changes. */
  releaseAndAcquire(
    releases: readonly QueuedRelease[],
    id: string,
    token: string,
    expiresAt: number,
    now: number,
  ): number;
}

/** A release asked for and not written yet. */
interface QueuedRelease {
  readonly id: string;
  readonly token: string;
  resolve(): void;
  reject(error: unknown): void;
}

/** SQLite's number for `synchronous = NORMAL`. */
const NORMAL = 1;

/**
 * Locks with a lease in a table of the SQLite file: taking one is an upsert that only overwrites an
 * expired row, releasing deletes the row if the token still holds it, and waiting looks at the row
 * with a short back-off (5 ms, doubling to 50 ms): a read of one indexed row, which never blocks a
 * writer. Lock writes are not synced to disk (a crash loses nothing a lease would not free).
 *
 * Releases are written together: those asked for in one turn of the event loop are committed in
 * one transaction at the end of it, or with the next lock taken, whichever comes first. A program
 * that fetches one URL after another then commits once per miss for its locks (this miss's release
 * with the next one's lock) instead of twice; many misses at once share the commits of their
 * releases. A release resolves once it is committed.
 */
export class SQLiteLocks implements StoreLocks {
  readonly #db: Database;
  #statements: LockStatements | undefined;
  /** The connection's own `synchronous` level, restored after each lock write. */
  #level: number | undefined;
  /** Releases asked for and not written yet, each with how to settle its caller's promise. */
  #releases: QueuedRelease[] = [];
  /** Whether a write of the queued releases is set for the end of the turn. */
  #scheduled = false;
  /** The releases asked for and not settled yet, for {@link flush}. */
  readonly #outstanding = new Set<Promise<void>>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** The statements, with the lock table created on first use (a file that never locks never has it). */
  get #sql(): LockStatements {
    if (this.#statements !== undefined) return this.#statements;
    const db = this.#db;
    const table = quote(LOCK_TABLE);
    db.transaction(() => createLockTable(db)).immediate();
    const acquire = db.prepare(
      `INSERT INTO ${table} ("id", "token", "expires_at") VALUES (?, ?, ?) ON CONFLICT ("id") DO UPDATE SET ` +
        `"token" = excluded."token", "expires_at" = excluded."expires_at" WHERE ${table}."expires_at" <= ?`,
    );
    const release = db.prepare(`DELETE FROM ${table} WHERE "id" = ? AND "token" = ?`);
    const releaseAll = (releases: readonly QueuedRelease[]) => {
      for (const each of releases) release.run(each.id, each.token);
    };
    const releaseMany = db.transaction(releaseAll);
    const releaseAndAcquire = db.transaction(
      (releases: readonly QueuedRelease[], id: string, token: string, expiresAt: number, now: number): number => {
        releaseAll(releases);
        return acquire.run(id, token, expiresAt, now).changes;
      },
    );
    this.#statements = {
      acquire,
      look: db.prepare(`SELECT "token", "expires_at" FROM ${table} WHERE "id" = ?`).raw(),
      releaseMany: (releases) => releaseMany.immediate(releases),
      releaseAndAcquire: (releases, id, token, expiresAt, now) =>
        releaseAndAcquire.immediate(releases, id, token, expiresAt, now),
    };
    return this.#statements;
  }

  async acquire(id: string, token: string, lease: number): Promise<boolean> {
    const now = Date.now();
    const sql = this.#sql;
    if (this.#releases.length === 0) {
      return (await retryBusy(() => this.#unsynced(() => sql.acquire.run(id, token, now + lease, now).changes))) === 1;
    }
    // The releases waiting for the end of this turn are written with this lock, in one commit.
    const releases = this.#take();
    let changes: number;
    try {
      changes = await retryBusy(() =>
        this.#unsynced(() => sql.releaseAndAcquire(releases, id, token, now + lease, now)),
      );
    } catch (error) {
      // Nothing of the transaction was written: the releases wait for the end of a turn again.
      this.#releases.unshift(...releases);
      this.#schedule();
      throw error;
    }
    for (const release of releases) release.resolve();
    return changes === 1;
  }

  release(id: string, token: string): Promise<void> {
    let settle!: Pick<QueuedRelease, "resolve" | "reject">;
    const released = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#releases.push({ id, token, ...settle });
    const settled = released.then(
      () => undefined,
      () => undefined,
    );
    this.#outstanding.add(settled);
    void settled.then(() => this.#outstanding.delete(settled));
    this.#schedule();
    return released;
  }

  /** Settles once every release asked for until now is written (or failed). */
  async flush(): Promise<void> {
    while (this.#outstanding.size > 0) await Promise.allSettled([...this.#outstanding]);
  }

  #take(): QueuedRelease[] {
    const releases = this.#releases;
    this.#releases = [];
    return releases;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#writeReleases();
    });
  }

  /** Writes the releases still queued at the end of the turn (those a lock took are written with it). */
  async #writeReleases(): Promise<void> {
    const releases = this.#take();
    if (releases.length === 0) return;
    const sql = this.#sql;
    try {
      await retryBusy(() => this.#unsynced(() => sql.releaseMany(releases)));
    } catch (error) {
      for (const each of releases) each.reject(error);
      return;
    }
    for (const each of releases) each.resolve();
  }

  /**
   * Runs a lock write without waiting for the disk: a lock is worth nothing after a crash (its
   * lease is what frees it), so a miss pays no sync for it. A connection at `synchronous = NORMAL`
   * in WAL mode (how a cache with `synchronous: "full"` commits, syncing the log after its writes)
   * never syncs a commit; one at FULL runs the lock's commit alone at OFF.
   */
  #unsynced<T>(work: () => T): T {
    const db = this.#db;
    this.#level ??= Number(db.pragma("synchronous", { simple: true }));
    if (db.inTransaction || this.#level <= NORMAL || db.memory) return work();
    db.pragma("synchronous = OFF");
    try {
      return work();
    } finally {
      db.pragma(`synchronous = ${this.#level}`);
    }
  }

  async waitForRelease(id: string, until: number, signal: AbortSignal | undefined): Promise<boolean> {
    let holder: string | undefined;
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
      const row = (await retryBusy(() => this.#sql.look.get(id))) as [string, number] | undefined;
      if (row === undefined || row[1] <= Date.now()) return true;
      if (holder === undefined) holder = row[0];
      else if (row[0] !== holder) return true; // released, and taken again by another process
      const left = until - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(pause, left), undefined, signal === undefined ? undefined : { signal });
    }
  }
}
