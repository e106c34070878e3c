/**
 * The members of a `pg` pool and its clients that the PostgreSQL backend uses and shows, as plain
 * structural types, so that the published types compile without `pg` or `@types/pg` installed. A
 * `pg` `Pool` is a `PgPool`; cast the other way (`cache.pool as pg.Pool`) to reach the rest of its
 * API.
 */

/** Type parsers given with a query, by type OID (`pg`'s `CustomTypesConfig`). */
export interface PgCustomTypes {
  /** The parser of the text of a column of the type with this OID. */
  // biome-ignore lint/suspicious/noExplicitAny: pg's parsers return values of any type.
  getTypeParser: (oid: number, format?: any) => any;
}

/** A query: its text, its parameters, and how rows come back (`pg`'s `QueryConfig`). */
export interface PgQueryConfig {
  /** The name the statement is prepared under on each connection. */
  name?: string | undefined;
  /** The SQL text, with `$1`, `$2`... for the parameters. */
  text: string;
  /** The parameters. */
  values?: unknown[] | undefined;
  /** `"array"` returns each row as an array of column values instead of an object. */
  rowMode?: "array" | undefined;
  /** Type parsers for this query only. */
  types?: PgCustomTypes | undefined;
}

/** The rows a query returned, and how many rows it touched. */
export interface PgQueryResult {
  /** The rows: objects, or arrays with `rowMode: "array"`. */
  // biome-ignore lint/suspicious/noExplicitAny: rows hold what the query selected.
  rows: any[];
  /** How many rows the statement returned or touched. */
  rowCount: number | null;
}

/** A connection checked out of a {@link PgPool} (`pg`'s `PoolClient`). */
export interface PgPoolClient {
  /** Runs a query. */
  query(config: PgQueryConfig): Promise<PgQueryResult>;
  /** Runs a query given as text, with its parameters. */
  query(text: string, values?: unknown[]): Promise<PgQueryResult>;
  /** Gives the connection back to the pool, or destroys it when given an error or `true`. */
  release(error?: Error | boolean): void;
  /** Adds a listener for the connection's errors. */
  on(event: "notification", listener: (message: { channel: string; payload?: string | undefined }) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
}

/**
 * A pool of PostgreSQL connections: a `pg` `Pool`, described by the members that requestful uses.
 * Any `pg` pool can be given where one is asked for.
 *
 * @example
 * import pg from "pg";
 * const pool: PgPool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:5432/app" });
 */
export interface PgPool {
  /** Checks a connection out of the pool. */
  connect(): Promise<PgPoolClient>;
  /** Closes every connection of the pool. */
  end(): Promise<void>;
  /** Adds a listener for errors of idle connections. */
  on(event: "error", listener: (error: Error, client: PgPoolClient) => void): unknown;
  /** Removes a listener. */
  // biome-ignore lint/suspicious/noExplicitAny: listeners of EventEmitter events take any arguments.
  off(event: "error", listener: (...args: any[]) => void): unknown;
}

/** Settings of the pool a PostgreSQL cache makes (a subset of `pg`'s `PoolConfig`). */
export interface PgPoolConfig {
  /** `postgres://user:password@host:port/database`. */
  connectionString?: string | undefined;
  /** How many connections the pool opens at most. */
  max?: number | undefined;
  /** How long connecting may take, in milliseconds. */
  connectionTimeoutMillis?: number | undefined;
  /** The server-side deadline of each statement, in milliseconds. */
  statement_timeout?: number | undefined;
  /** How long an idle connection stays open, in milliseconds. */
  idleTimeoutMillis?: number | undefined;
  /** Whether idle connections let the process exit. */
  allowExitOnIdle?: boolean | undefined;
  /** Whether TCP keep-alive is on. */
  keepAlive?: boolean | undefined;
  /** The `application_name` the server sees. */
  application_name?: string | undefined;
}
