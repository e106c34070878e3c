import { debuglog } from "node:util";
import { CacheError, CacheTimeoutError, MissingDriverError } from "../../../errors.js";
import type {
  PgCustomTypes as CustomTypesConfig,
  PgPool as Pool,
  PgPoolClient as PoolClient,
  PgPoolConfig as PoolConfig,
  PgQueryConfig as QueryArrayConfig,
} from "./pool.js";

/** The part of the `pg` module that this backend uses. */
export interface PgModule {
  Pool: new (config?: PoolConfig) => Pool;
}

const debug = debuglog("requestful");

/**
 * Loads `pg` when a PostgreSQL cache opens, so that nothing else loads it. A missing package is a
 * `MissingDriverError` that says how to install it.
 */
export async function loadPg(): Promise<PgModule> {
  let module: { default?: PgModule } & Partial<PgModule>;
  try {
    module = (await import("pg")) as typeof module;
  } catch (cause) {
    if (isMissing(cause)) {
      throw new MissingDriverError('the PostgreSQL backend needs the "pg" package: npm install pg', {
        cause,
        packageName: "pg",
      });
    }
    throw new CacheError(`could not load the "pg" package: ${messageOf(cause)}`, { cause });
  }
  const pg = module.Pool === undefined ? module.default : (module as PgModule);
  if (pg?.Pool === undefined) throw new CacheError('the "pg" package does not export Pool; install pg 8 or later');
  return pg;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A backend call that ran out of time. The repository gives it a message that names itself. */
export class DeadlineError extends CacheTimeoutError {
  override name = "CacheTimeoutError";
  constructor(timeout: number, cause?: unknown) {
    super(`PostgreSQL did not answer within ${timeout} ms (the timeout option)`, {
      timeout,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/**
 * `pg`'s own timeouts, set to the same deadline, may fire first: waiting for a connection, or
 * connecting. They mean the same, so they become a `DeadlineError` too.
 */
function asDeadline(error: unknown, timeout: number): unknown {
  if (error instanceof DeadlineError || !(error instanceof Error)) return error;
  return /timeout exceeded when trying to connect|connection timeout/i.test(error.message)
    ? new DeadlineError(timeout, error)
    : error;
}

// Results come back as text (the default protocol format). These parsers cover the column types that
// the backend selects, whatever type parsers the application set globally on `pg`.
const OID_BOOL = 16;
const OID_BYTEA = 17;
const OID_INT8 = 20;
const OID_INT4 = 23;
const OID_FLOAT8 = 701;

const identity = (text: string) => text;

const PARSERS = new Map<number, (text: string) => unknown>([
  [OID_BOOL, (text) => text === "t"],
  [OID_BYTEA, parseBytea],
  [OID_INT8, Number],
  [OID_INT4, Number],
  [OID_FLOAT8, Number],
]);

/** The type parsers given with every query. */
export const TYPES = {
  getTypeParser: (oid: number) => PARSERS.get(oid) ?? identity,
} as unknown as CustomTypesConfig;

/** Decodes `bytea` text output: hex (`\x…`, the default) or the older escape format. */
export function parseBytea(text: string): Buffer {
  if (text.startsWith("\\x")) return Buffer.from(text.slice(2), "hex");
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0x5c) bytes.push(code);
    else if (text[i + 1] === "\\") {
      bytes.push(0x5c);
      i++;
    } else {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    }
  }
  return Buffer.from(bytes);
}

/** A statement: its text, and the name it is prepared under on each connection. */
export interface Statement {
  name?: string;
  text: string;
}

/** Runs a statement and returns its rows as arrays, and the number of rows it touched. */
export async function query(
  client: PoolClient,
  statement: Statement,
  values: readonly unknown[] = [],
): Promise<{ rows: unknown[][]; rowCount: number }> {
  const config: QueryArrayConfig = {
    text: statement.text,
    values: values as unknown[],
    rowMode: "array",
    types: TYPES,
  };
  if (statement.name !== undefined) config.name = statement.name;
  const result = await client.query(config);
  return { rows: result.rows as unknown[][], rowCount: result.rowCount ?? 0 };
}

/** Runs `work` between BEGIN and COMMIT on one connection. */
export async function transaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  await client.query("COMMIT");
  return result;
}

/** How a driver reaches its pool. */
export interface DriverOptions {
  /** A pool the application made; the driver never ends it. */
  pool?: Pool | undefined;
  /** Settings of the pool the driver makes when it is given none. */
  poolConfig: PoolConfig;
  /** The deadline of every call, in milliseconds. */
  timeout: number;
  /** Told of errors that no call is waiting for (an idle connection dropped by the server). */
  onError: (error: Error) => void;
}

/**
 * The connection of a PostgreSQL cache: a pool, and a deadline on every call made through it. A
 * call that runs out of time rejects at the deadline, and the connection it held is destroyed (the
 * server rolls back what it was doing), so a hung server never blocks the caller or the pool.
 */
export class PostgresDriver {
  readonly timeout: number;
  readonly #given: Pool | undefined;
  readonly #config: PoolConfig;
  readonly #onError: (error: Error) => void;
  readonly #watched = new WeakSet<PoolClient>();
  #pool: Pool | undefined;

  constructor(options: DriverOptions) {
    this.#given = options.pool;
    this.#config = options.poolConfig;
    this.timeout = options.timeout;
    this.#onError = options.onError;
  }

  /** Whether the pool belongs to the application (it is then never ended here). */
  get ownsPool(): boolean {
    return this.#given === undefined;
  }

  /** The pool: the application's from the start, or the driver's own once it is open. */
  get pool(): Pool {
    const pool = this.#pool ?? this.#given;
    if (pool === undefined) throw new CacheError("the PostgreSQL cache is not connected: call connect() first");
    return pool;
  }

  readonly #poolError = (error: Error) => {
    this.#report(error);
  };

  readonly #clientError = (error: Error) => {
    this.#report(error);
  };

  #report(error: Error): void {
    debug("PostgreSQL connection error: %s", error.message);
    try {
      this.#onError(error);
    } catch (thrown) {
      debug("onError threw: %s", messageOf(thrown));
    }
  }

  /** Loads `pg` and makes the pool (or adopts the application's). */
  async open(): Promise<void> {
    if (this.#pool !== undefined) return;
    if (this.#given !== undefined) {
      this.#pool = this.#given;
    } else {
      const { Pool } = await loadPg();
      this.#pool = new Pool(this.#config);
    }
    this.#pool.on("error", this.#poolError);
  }

  /** Ends the pool if the driver made it; leaves the application's pool open. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool === undefined) return;
    if (this.#given !== undefined) {
      pool.off("error", this.#poolError);
      return;
    }
    // Calls release their connections by their deadline, so this ends soon; it is bounded all the same.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pool.end().catch((error: unknown) => debug("ending the pool: %s", messageOf(error))),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.timeout);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Runs `work` with a connection from the pool within the deadline: waiting for a connection,
   * connecting and the first statement must be done within `timeout`. Work that sends several
   * statements (a bulk write in chunks) calls `progress()` after each, which gives the next one a
   * full `timeout` again. Past the deadline the call rejects with a `DeadlineError`.
   *
   * A pooled connection may have died while it sat idle (the server restarted). When `work` is safe
   * to repeat and fails because such a connection is dead, it runs again on another connection,
   * within the same deadline, so that the first call after the server comes back succeeds.
   */
  async run<T>(work: (client: PoolClient, progress: () => void) => Promise<T>, repeatable = true): Promise<T> {
    const pool = this.#pool;
    if (pool === undefined) throw new CacheError("the PostgreSQL cache is not connected: call connect() first");
    const deadline = new Deadline(this.timeout);
    try {
      for (;;) {
        let client: PoolClient;
        const checkout = pool.connect();
        try {
          client = await Promise.race([checkout, deadline.expired]);
        } catch (error) {
          // A connection that arrives after the deadline goes back to the pool unused.
          checkout.then(
            (late) => late.release(),
            () => {},
          );
          throw asDeadline(error, this.timeout);
        }
        const reused = this.#watched.has(client);
        if (!reused) {
          // A connection that drops while no statement is running emits `error`; without a
          // listener that would end the process.
          client.on("error", this.#clientError);
          this.#watched.add(client);
        }
        // Released in `finally`, whatever throws: work that throws before its first await (a value
        // it cannot convert) must give the connection back as surely as a statement that fails.
        let failure: { error: unknown } | undefined;
        let running: Promise<T> | undefined;
        try {
          running = work(client, deadline.extend);
          return await Promise.race([running, deadline.expired]);
        } catch (error) {
          running?.catch(() => {});
          failure = { error };
        } finally {
          // After a failure the connection may be mid-statement or mid-transaction: destroy it
          // rather than reuse it.
          client.release(failure === undefined ? undefined : failure.error instanceof Error ? failure.error : true);
        }
        if (!(repeatable && reused && isDeadConnection(failure.error))) throw asDeadline(failure.error, this.timeout);
        debug("retrying on another connection: %s", messageOf(failure.error));
      }
    } finally {
      deadline.clear();
    }
  }
}

/** A timer whose promise rejects with a `DeadlineError` when it runs out; `extend` starts it again. */
class Deadline {
  readonly expired: Promise<never>;
  readonly #timeout: number;
  #timer: NodeJS.Timeout | undefined;
  #reject: (error: Error) => void = () => {};

  constructor(timeout: number) {
    this.#timeout = timeout;
    this.expired = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    // Handled here too, so that a deadline that runs out between two awaits is never "unhandled".
    this.expired.catch(() => {});
    this.extend();
  }

  readonly extend = (): void => {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#reject(new DeadlineError(this.#timeout)), this.#timeout);
  };

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** Whether an error says that the connection itself is gone (as opposed to the statement failing). */
function isDeadConnection(error: unknown): boolean {
  if (error instanceof DeadlineError || !(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  // 57P01 and 57P02: the server is shutting down, and aborted the statement.
  if (code === "ECONNRESET" || code === "EPIPE" || code === "57P01" || code === "57P02") return true;
  return /Connection terminated|not queryable/.test(error.message);
}
