import { close, fdatasync, open } from "node:fs";
import { promisify } from "node:util";

const syncFile = promisify(fdatasync);
const openFile = promisify(open);
const closeFile = promisify(close);

/**
 * Makes commits durable after they are made, off the main thread: what `synchronous: "full"`
 * promises, without blocking the event loop for the disk.
 *
 * The connection commits at `synchronous = NORMAL` (in WAL mode a commit appends to the log and
 * does not sync it; checkpoints still sync the log and the database file, so the file is never
 * corrupt), and a write resolves only once an `fdatasync` of the log, begun after its commit, has
 * returned. Syncs run in libuv's thread pool, one at a time; commits made while one runs share the
 * next (group commit), so many writers pay for one sync between them.
 *
 * A commit is readable by every connection as soon as it is made, before it is durable: a write
 * can tell its caller so (`onVisible`) and go on to wait for the disk.
 */
export class LogSync {
  /** The write-ahead log (`<database>-wal`), or the database itself when there is no log. */
  readonly #paths: readonly string[];
  #fd: Promise<number> | undefined;
  /** The sync that runs now. */
  #running: Promise<void> | undefined;
  /** The sync that starts once the running one returns, shared by the commits made meanwhile. */
  #queued: Promise<void> | undefined;
  #syncs = 0;

  /** @param database The database file's path; its log is the same path with `-wal` added. */
  constructor(database: string) {
    this.#paths = [`${database}-wal`, database];
  }

  /** How many syncs have run. */
  get syncs(): number {
    return this.#syncs;
  }

  /**
   * Resolves once everything committed before this call is on the disk. A sync starts at once, or
   * once the running one returns; with `atTurnEnd`, for a writer whose caller goes on before the
   * sync (it was told that its entry is readable), it starts at the end of the event loop's turn
   * instead, so that the code that runs on the commit does not wait while the sync is handed to
   * the thread pool (~25 µs here), and the commits of the turn share it.
   */
  synced(atTurnEnd = false): Promise<void> {
    if (this.#queued !== undefined) return this.#queued;
    const running = this.#running;
    if (running === undefined && !atTurnEnd) return this.#start();
    const before = running ?? new Promise<void>((resolve) => setImmediate(resolve));
    const queued = before.then(
      () => this.#next(),
      () => this.#next(),
    );
    this.#queued = queued;
    return queued;
  }

  /** Waits for the syncs under way, then closes the log's file descriptor. */
  async close(): Promise<void> {
    await Promise.allSettled([this.#queued, this.#running]);
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    await fd.then(closeFile, () => undefined);
  }

  #next(): Promise<void> {
    this.#queued = undefined;
    return this.#start();
  }

  #start(): Promise<void> {
    const run = this.#sync().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #sync(): Promise<void> {
    this.#syncs++;
    const [log, database] = this.#paths as [string, string];
    if (this.#fd === undefined) {
      // The log, opened once for reading (enough to sync it) and kept while the connection is open.
      const opening = openFile(log, "r");
      this.#fd = opening;
      try {
        await opening;
      } catch (error) {
        this.#fd = undefined;
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        // No log (not in WAL mode after all): the commit went to the database file itself.
        const fd = await openFile(database, "r");
        try {
          await syncFile(fd);
        } finally {
          await closeFile(fd);
        }
        return;
      }
    }
    await syncFile(await this.#fd);
  }
}
