import { describeValue } from "../../../describe.js";
import { CacheError } from "../../../errors.js";
import { BOUNDS_OPTIONS, type BoundsOptions, resolveBounds, type StoreUsage } from "../../bounds.js";
import { CACHE_OPTIONS, type CacheOptions, checkOptionNames, ResponseCache, type StoreSize } from "../../cache.js";
import type { RepositoryRecord } from "../../records.js";
import type { RepositoryOptions } from "../../repository.js";
import type { ResponseRepositorySettings } from "../../settings.js";
import type { StoreLocks } from "../../single-flight.js";
import * as admin from "./admin.js";
import { PostgresBounds } from "./bounds.js";
import { messageOf, PostgresDriver, query, transaction } from "./driver.js";
import { PostgresLocks } from "./lock.js";
import type { PgPool as Pool, PgPoolClient as PoolClient } from "./pool.js";
import {
  checkSchemaName,
  checkTableName,
  DEFAULT_SCHEMA,
  fitIdentifier,
  LOCK_CLASS,
  META_TABLE,
  qualified,
  quote,
  REGISTRY_TABLE,
  SCHEMA_VERSION,
  schemaLockId,
} from "./sql.js";
import { PostgresTable } from "./table.js";

/** The deadline of every call to PostgreSQL, in milliseconds, unless the `timeout` option says otherwise. */
export const DEFAULT_TIMEOUT = 1_000;
/** How many connections a cache opens at most, unless the `poolSize` option says otherwise. */
export const DEFAULT_POOL_SIZE = 10;

const OPTIONS = [...CACHE_OPTIONS, ...BOUNDS_OPTIONS, "pool", "url", "schema", "timeout", "poolSize", "onError"];

/** Options of a PostgreSQL cache. */
export interface PostgresCacheOptions extends CacheOptions, BoundsOptions {
  /**
   * A `pg` Pool that the application already has. The cache uses it and never ends it: `close()`
   * leaves it open. Give either this or `url`; with neither, `pg` reads the `PG*` environment variables.
   * @default undefined (the cache makes its own pool)
   * @example new PostgresCache({ pool: new pg.Pool({ connectionString }) })
   */
  pool?: Pool;
  /**
   * Where the server is: `postgres://user:password@host:port/database`. `?schema=NAME` in it sets
   * the schema (the `schema` option wins).
   * @default undefined (`pg` reads the `PG*` environment variables)
   * @example "postgres://postgres@127.0.0.1:5432/app"
   */
  url?: string | URL;
  /**
   * The schema that holds the cache's tables, one per repository. It is created if missing.
   * @default "requestful"
   * @example "http_cache"
   */
  schema?: string;
  /**
   * The deadline of every call, in milliseconds: waiting for a connection, connecting and every
   * statement of the call. Past it, the call rejects with a `CacheError`. It is also sent to the
   * server as `statement_timeout` on connections the cache makes.
   * @default 1_000
   * @example 250
   */
  timeout?: number;
  /**
   * How many connections the cache's own pool opens at most (not used with `pool`).
   * @default 10
   * @example 4
   */
  poolSize?: number;
  /**
   * Told of connection errors that no call is waiting for, such as an idle connection that the
   * server closed. Calls report their own errors by rejecting. By default these go to
   * `NODE_DEBUG=requestful`.
   * @default undefined (errors go to `NODE_DEBUG=requestful` only)
   * @example (error) => logger.warn({ err: error }, "PostgreSQL cache")
   */
  onError?: (error: Error) => void;
}

/**
 * A cache in a PostgreSQL schema, one table per repository, shared by every process and machine
 * that points at the same database. Uses the `pg` package, loaded when the cache connects.
 *
 * @example
 * const cache = PostgresCache.connect("postgres://postgres@127.0.0.1:5432/app", { schema: "http_cache" });
 * cache.createRepository(trackSettings);
 * await cache.connect();
 * @example
 * // With a pool the application already has; close() leaves it open.
 * const cache = new PostgresCache({ pool, repositoryGetter: repositoryByPathSegment(1) });
 */
export class PostgresCache extends ResponseCache<PostgresTable> {
  readonly type = "postgres";
  /** The schema that holds the cache's tables. */
  readonly schema: string;
  /** The deadline of every call, in milliseconds. */
  readonly timeout: number;
  readonly #driver: PostgresDriver;
  readonly #bounds: PostgresBounds;
  #locks: PostgresLocks | undefined;

  constructor(options: PostgresCacheOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`PostgresCache options must be an object, got ${describeValue(options)}`);
    }
    checkOptionNames(options, OPTIONS, "PostgresCache");
    const { pool, url } = options;
    if (pool !== undefined && url !== undefined) {
      throw new TypeError("PostgresCache takes a pool or a url, not both");
    }
    if (pool !== undefined && (typeof pool !== "object" || pool === null || typeof pool.connect !== "function")) {
      throw new TypeError(`pool must be a pg Pool, got ${describeValue(pool)}`);
    }
    const location = url === undefined ? undefined : parseUrl(url);
    super({ name: location?.name ?? "postgres", ...options });
    this.schema = checkSchemaName(options.schema ?? location?.schema ?? DEFAULT_SCHEMA);
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT;
    if (!Number.isInteger(this.timeout) || this.timeout < 1) {
      throw new RangeError(
        `timeout must be a whole number of milliseconds above 0, got ${describeValue(options.timeout)}`,
      );
    }
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 1) {
      throw new RangeError(`poolSize must be a whole number of 1 or more, got ${describeValue(options.poolSize)}`);
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError(`onError must be a function, got ${describeValue(options.onError)}`);
    }
    this.#bounds = new PostgresBounds(resolveBounds(options), this.schema, this.now);
    this.#driver = new PostgresDriver({
      pool,
      timeout: this.timeout,
      onError: options.onError ?? (() => {}),
      poolConfig: {
        ...(location === undefined ? {} : { connectionString: location.connectionString }),
        max: poolSize,
        connectionTimeoutMillis: this.timeout,
        statement_timeout: this.timeout,
        idleTimeoutMillis: 10_000,
        allowExitOnIdle: true,
        keepAlive: true,
        application_name: "requestful",
      },
    });
  }

  /**
   * A cache for a `postgres://` or `postgresql://` URL, unconnected: call `connect()`.
   *
   * @example const cache = PostgresCache.connect("postgres://postgres@127.0.0.1/app?schema=http_cache");
   */
  static connect(url: string | URL, options: Omit<PostgresCacheOptions, "url" | "pool"> = {}): PostgresCache {
    return new PostgresCache({ ...options, url });
  }

  /** The `pg` Pool the cache uses (its own, or the one it was given). */
  get pool(): Pool {
    return this.#driver.pool;
  }

  protected override checkRepositoryName(name: string): void {
    checkTableName(name);
    const table = fitIdentifier(name);
    for (const other of this.keys()) {
      if (fitIdentifier(other) === table) {
        throw new CacheError(`repositories "${name}" and "${other}" would share the PostgreSQL table "${table}"`);
      }
    }
  }

  /** How many entries and bytes the bounded tables of the schema hold, as counted against `maxEntries` and `maxBytes`. */
  async usage(): Promise<StoreUsage> {
    if (!this.#bounds.bounded) {
      let entries = 0;
      for (const table of this.values()) entries += await table.count();
      return { entries, bytes: 0 };
    }
    return this.#driver.run((client) => this.#bounds.usage(client));
  }

  protected newRepository<V>(settings: ResponseRepositorySettings<V>, options: RepositoryOptions): PostgresTable {
    const context = { driver: this.#driver, schema: this.schema, bounds: this.#bounds };
    return new PostgresTable(context, settings, options) as PostgresTable;
  }

  protected override saveRecord(record: RepositoryRecord): Promise<void> {
    return admin.saveRecord(this.#driver, this.schema, record);
  }

  protected override loadRecords(): Promise<RepositoryRecord[]> {
    return admin.loadRecords(this.#driver, this.schema);
  }

  protected override measureStore(): Promise<StoreSize> {
    return admin.measureStore(this.#driver, this.schema);
  }

  protected override checkStore(): Promise<string[]> {
    return admin.checkStore(this.#driver, this.schema, this.values());
  }

  protected override compactStore(): Promise<void> {
    return admin.compactStore(this.#driver, this.values());
  }

  protected async openConnection(): Promise<void> {
    await this.#driver.open();
    try {
      await this.#driver.run((client) =>
        transaction(client, async () => {
          await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_CLASS, schemaLockId(this.schema)]);
          await prepareSchema(client, this.schema);
          await this.#bounds.prepare(client);
        }),
      );
    } catch (cause) {
      if (cause instanceof CacheError) throw cause;
      throw new CacheError(`could not open PostgreSQL cache "${this.name}": ${messageOf(cause)}`, { cause });
    }
  }

  protected override keepMetadata(name: string, value: string): Promise<string> {
    const meta = qualified(this.schema, META_TABLE);
    return this.#driver.run(async (client) => {
      await client.query(`INSERT INTO ${meta} ("key", "value") VALUES ($1, $2) ON CONFLICT ("key") DO NOTHING`, [
        name,
        value,
      ]);
      const found = await query(client, { text: `SELECT "value" FROM ${meta} WHERE "key" = $1` }, [name]);
      return String(found.rows[0]?.[0]);
    });
  }

  protected override storeLocks(): StoreLocks | undefined {
    this.#locks ??= new PostgresLocks(this.#driver, this.schema);
    return this.#locks;
  }

  protected async closeConnection(): Promise<void> {
    await this.#locks?.close();
    this.#locks = undefined;
    await this.#driver.close();
  }
}

/**
 * Creates the schema, its metadata table and its registry of repositories when missing, records the
 * schema version in a new schema, and refuses one written by a newer release. Only what is missing
 * is created, so a role without CREATE rights can use a schema made for it.
 */
async function prepareSchema(client: PoolClient, schema: string): Promise<void> {
  const meta = qualified(schema, META_TABLE);
  const registry = qualified(schema, REGISTRY_TABLE);
  const found = await query(
    client,
    {
      text:
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1), " +
        "to_regclass($2) IS NOT NULL, to_regclass($3) IS NOT NULL",
    },
    [schema, meta, registry],
  );
  const [hasSchema, hasMeta, hasRegistry] = (found.rows[0] ?? []) as boolean[];
  if (!hasSchema) await client.query(`CREATE SCHEMA ${quote(schema)}`);
  if (!hasMeta) {
    await client.query(`CREATE TABLE ${meta} ("key" text PRIMARY KEY, "value" text NOT NULL)`);
    await client.query(`INSERT INTO ${meta} ("key", "value") VALUES ('schema_version', $1)`, [String(SCHEMA_VERSION)]);
  }
  if (!hasRegistry) {
    await client.query(
      `CREATE TABLE ${registry} (
        "repository" text PRIMARY KEY,
        "table_name" text NOT NULL UNIQUE,
        "fields" text[] NOT NULL,
        "key_columns" text[] NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`,
    );
  }
  const stored = (await query(client, { text: `SELECT "value" FROM ${meta} WHERE "key" = 'schema_version'` }))
    .rows[0]?.[0];
  const version = Number(stored);
  if (!Number.isInteger(version) || version < 1) {
    throw new CacheError(`schema "${schema}" records an unreadable schema version ${JSON.stringify(stored ?? null)}`);
  }
  if (version > SCHEMA_VERSION) {
    throw new CacheError(
      `schema "${schema}" was written with schema version ${version}, newer than this release reads ` +
        `(${SCHEMA_VERSION}); upgrade requestful or use another schema`,
    );
  }
}

/** A URL as text, its password replaced. */
function redactPassword(url: URL): string {
  if (url.password === "") return url.href;
  const copy = new URL(url.href);
  copy.password = "***";
  return copy.href;
}

/** The connection string for `pg`, the schema named in the URL, and a name without the password. */
function parseUrl(url: string | URL): { connectionString: string; schema: string | undefined; name: string } {
  let parsed: URL;
  try {
    parsed = new URL(url instanceof URL ? url.href : url);
  } catch (cause) {
    throw new TypeError(`url must be a postgres:// URL, got ${describeValue(url)}`, { cause });
  }
  if ((parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") || !/^[a-z]+:\/\//i.test(parsed.href)) {
    throw new TypeError(
      `url must be postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE or postgresql://…, got ${JSON.stringify(redactPassword(parsed))}`,
    );
  }
  const schema = parsed.searchParams.get("schema") ?? undefined;
  parsed.searchParams.delete("schema");
  const connectionString = parsed.href;
  if (parsed.password !== "") parsed.password = "***";
  return { connectionString, schema, name: parsed.href };
}
