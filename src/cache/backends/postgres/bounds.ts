import { createHash } from "node:crypto";
import type { Key } from "../../../types.js";
import { type Bounds, ENTRY_OVERHEAD, retentionCutoff, type StoreUsage } from "../../bounds.js";
import { query, transaction } from "./driver.js";
import type { PgPoolClient as PoolClient } from "./pool.js";
import { keyJson, LOCK_CLASS, qualified, quote, toTimestamp } from "./sql.js";

/** One row per entry of every bounded table: its size and when it was last used. */
export const LRU_TABLE = "requestful_lru";
/** One row per bounded table: how many entries and bytes it holds. */
export const USAGE_TABLE = "requestful_usage";
/** Entries removed per table in one clean-up batch. */
export const SWEEP_BATCH = 256;
/** How often (by the cache's clock) writes look for entries past their retention. */
export const SWEEP_EVERY_MS = 1_000;
/** Reads remembered between two writes; more are dropped (the stamps become a sample). */
export const MAX_TOUCHES = 4_096;

/** The second half of the advisory lock that bounded writes of one schema take in turn. */
function boundsLockId(schema: string): number {
  return createHash("sha256").update(`requestful:${schema}:bounds`).digest().readInt32BE(0);
}

/** The bytes of one row (NEW or OLD) as the bounds count them. */
function sizeOf(row: string): string {
  return (
    `(${ENTRY_OVERHEAD} + octet_length(${row}."key_json") + coalesce(octet_length(${row}."payload"), 0) + ` +
    `coalesce(octet_length(${row}."payload_bytes"), 0) + coalesce(octet_length(${row}."url"), 0) + ` +
    `coalesce(octet_length(${row}."name"), 0) + coalesce(octet_length(${row}."headers"::text), 0))`
  );
}

/**
 * Keeps the tables of one PostgreSQL cache within `maxEntries` and `maxBytes`, and removes entries
 * past their retention.
 *
 * Accounting is exact: row triggers keep `requestful_lru` (size and last use per entry) and
 * `requestful_usage` (totals per table) in the write's own transaction, and a statement trigger
 * first takes one advisory lock per schema, so that bounded writes run one at a time (in any
 * process) and each evicts least recently used entries before it commits. Writes to bounded tables
 * are serialised per schema: the price of bounds that never overshoot.
 */
export class PostgresBounds {
  readonly bounds: Bounds;
  readonly schema: string;
  readonly #now: () => number;
  #touches = new Map<string, Set<string>>();
  #touchCount = 0;
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(bounds: Bounds, schema: string, now: () => number) {
    this.bounds = bounds;
    this.schema = schema;
    this.#now = now;
  }

  get bounded(): boolean {
    return this.bounds.bounded;
  }

  #name(name: string): string {
    return qualified(this.schema, name);
  }

  /** Creates the bookkeeping tables and functions; runs in the transaction that prepares the schema. */
  async prepare(client: PoolClient): Promise<void> {
    if (!this.bounds.bounded) return;
    const lru = this.#name(LRU_TABLE);
    const usage = this.#name(USAGE_TABLE);
    const lock = `pg_advisory_xact_lock(${LOCK_CLASS}, ${boundsLockId(this.schema)})`;
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${lru} ("tbl" text NOT NULL, "digest" bytea NOT NULL, "size" bigint NOT NULL, ` +
        `"used_at" bigint NOT NULL, PRIMARY KEY ("tbl", "digest"));` +
        `CREATE INDEX IF NOT EXISTS ${quote(`${LRU_TABLE}_used_at`)} ON ${lru} ("used_at");` +
        `CREATE TABLE IF NOT EXISTS ${usage} ("tbl" text PRIMARY KEY, "entries" bigint NOT NULL, "bytes" bigint NOT NULL);` +
        `CREATE OR REPLACE FUNCTION ${this.#name("requestful_bounds_lock")}() RETURNS trigger LANGUAGE plpgsql AS $f$ ` +
        `BEGIN PERFORM ${lock}; RETURN NULL; END $f$;` +
        `CREATE OR REPLACE FUNCTION ${this.#name("requestful_bounds_row")}() RETURNS trigger LANGUAGE plpgsql AS $f$ ` +
        `DECLARE old_size bigint := 0; BEGIN ` +
        `IF TG_OP <> 'INSERT' THEN ` +
        `  DELETE FROM ${lru} WHERE "tbl" = TG_TABLE_NAME AND "digest" = OLD."key_digest" RETURNING "size" INTO old_size; ` +
        `  UPDATE ${usage} SET "entries" = "entries" - (CASE WHEN old_size IS NULL THEN 0 ELSE 1 END), "bytes" = "bytes" - coalesce(old_size, 0) WHERE "tbl" = TG_TABLE_NAME; ` +
        `END IF; ` +
        `IF TG_OP <> 'DELETE' THEN ` +
        `  INSERT INTO ${lru} ("tbl", "digest", "size", "used_at") VALUES (TG_TABLE_NAME, NEW."key_digest", ${sizeOf("NEW")}, ` +
        `    (extract(epoch FROM NEW."cached_at") * 1000)::bigint); ` +
        `  UPDATE ${usage} SET "entries" = "entries" + 1, "bytes" = "bytes" + ${sizeOf("NEW")} WHERE "tbl" = TG_TABLE_NAME; ` +
        `END IF; RETURN NULL; END $f$;` +
        `CREATE OR REPLACE FUNCTION ${this.#name("requestful_evict")}(max_entries bigint, max_bytes bigint) RETURNS integer ` +
        `LANGUAGE plpgsql AS $f$ DECLARE total_entries bigint; total_bytes bigint; victim record; n integer; removed integer := 0; BEGIN ` +
        `PERFORM ${lock}; ` +
        `SELECT coalesce(sum("entries"), 0), coalesce(sum("bytes"), 0) INTO total_entries, total_bytes FROM ${usage}; ` +
        `WHILE total_entries > max_entries OR total_bytes > max_bytes LOOP ` +
        `  SELECT "tbl", "digest", "size" INTO victim FROM ${lru} ORDER BY "used_at", "tbl", "digest" LIMIT 1; ` +
        `  EXIT WHEN NOT FOUND; ` +
        `  EXECUTE format('DELETE FROM %I.%I WHERE "key_digest" = $1', ${literal(this.schema)}, victim."tbl") USING victim."digest"; ` +
        `  GET DIAGNOSTICS n = ROW_COUNT; ` +
        `  IF n = 0 THEN ` +
        `    DELETE FROM ${lru} WHERE "tbl" = victim."tbl" AND "digest" = victim."digest"; ` +
        `    UPDATE ${usage} SET "entries" = "entries" - 1, "bytes" = "bytes" - victim."size" WHERE "tbl" = victim."tbl"; ` +
        `  END IF; ` +
        `  total_entries := total_entries - 1; total_bytes := total_bytes - victim."size"; removed := removed + 1; ` +
        `END LOOP; RETURN removed; END $f$;`,
    );
  }

  /** Installs the triggers of a table, counting what it holds when they are new; runs in the table's set-up transaction. */
  async register(client: PoolClient, table: string): Promise<void> {
    if (!this.bounds.bounded) return;
    const qualifiedTable = this.#name(table);
    const exists = await query(
      client,
      { text: "SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2" },
      [qualifiedTable, "requestful_bounds_row"],
    );
    if (exists.rows.length > 0) return;
    const lru = this.#name(LRU_TABLE);
    await query(client, { text: `DELETE FROM ${lru} WHERE "tbl" = $1` }, [table]);
    await client.query(
      `INSERT INTO ${lru} ("tbl", "digest", "size", "used_at") SELECT ${literal(table)}, "key_digest", ${sizeOf(qualifiedTable)}, ` +
        `(extract(epoch FROM "cached_at") * 1000)::bigint FROM ${qualifiedTable};` +
        `INSERT INTO ${this.#name(USAGE_TABLE)} ("tbl", "entries", "bytes") SELECT ${literal(table)}, count(*), coalesce(sum("size"), 0) ` +
        `FROM ${lru} WHERE "tbl" = ${literal(table)} ON CONFLICT ("tbl") DO UPDATE SET "entries" = excluded."entries", "bytes" = excluded."bytes";` +
        `CREATE TRIGGER "requestful_bounds_lock" BEFORE INSERT OR UPDATE OR DELETE ON ${qualifiedTable} ` +
        `FOR EACH STATEMENT EXECUTE FUNCTION ${this.#name("requestful_bounds_lock")}();` +
        `CREATE TRIGGER "requestful_bounds_row" AFTER INSERT OR UPDATE OR DELETE ON ${qualifiedTable} ` +
        `FOR EACH ROW EXECUTE FUNCTION ${this.#name("requestful_bounds_row")}();`,
    );
  }

  /** Remembers a read, to stamp the entry as used with the next write. */
  touch(table: string, key: Key): void {
    if (!this.bounds.bounded || !this.bounds.trackAccess || this.#touchCount >= MAX_TOUCHES) return;
    let keys = this.#touches.get(table);
    if (keys === undefined) {
      keys = new Set();
      this.#touches.set(table, keys);
    }
    keys.add(keyJson(key));
    this.#touchCount++;
  }

  /**
   * Runs a write in one transaction with what keeps the store in bounds: remembered reads stamped,
   * the write, then eviction down to the bounds and (now and then) a batch past retention.
   */
  async write(client: PoolClient, tables: readonly string[], work: () => Promise<void>): Promise<void> {
    const touches = this.#touches;
    this.#touches = new Map();
    this.#touchCount = 0;
    await transaction(client, async () => {
      const lru = this.#name(LRU_TABLE);
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${boundsLockId(this.schema)})`);
      for (const [table, keys] of touches) {
        await query(
          client,
          {
            text:
              `UPDATE ${lru} SET "used_at" = greatest("used_at", $2) WHERE "tbl" = $1 AND "digest" = ANY ` +
              `(ARRAY(SELECT sha256(convert_to(k, 'UTF8')) FROM unnest($3::text[]) AS k))`,
          },
          [table, Math.round(this.#now()), [...keys]],
        );
      }
      await work();
      const limit = (bound: number) => (Number.isFinite(bound) ? bound : Number.MAX_SAFE_INTEGER);
      await query(client, { text: `SELECT ${this.#name("requestful_evict")}($1, $2)` }, [
        limit(this.bounds.maxEntries),
        limit(this.bounds.maxBytes),
      ]);
      await this.#sweepIfDue(client, tables);
    });
  }

  /** After a write of an unbounded cache: a batch past retention, when one is due. */
  async afterUnboundedWrite(client: PoolClient, tables: readonly string[]): Promise<void> {
    await this.#sweepIfDue(client, tables);
  }

  async #sweepIfDue(client: PoolClient, tables: readonly string[]): Promise<void> {
    const retention = this.bounds.retention;
    const now = this.#now();
    if (retention === null || now - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = now;
    const cutoff = toTimestamp(retentionCutoff(now, retention));
    for (const table of tables) {
      const name = this.#name(table);
      const { rowCount } = await query(
        client,
        {
          text: `DELETE FROM ${name} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${name} WHERE "expires_at" <= $1 LIMIT ${SWEEP_BATCH}))`,
        },
        [cutoff],
      );
      if (rowCount === SWEEP_BATCH) this.#lastSweep = Number.NEGATIVE_INFINITY;
    }
  }

  /** The entries and bytes the bounded tables hold. */
  async usage(client: PoolClient): Promise<StoreUsage> {
    const { rows } = await query(client, {
      text: `SELECT coalesce(sum("entries"), 0)::float8, coalesce(sum("bytes"), 0)::float8 FROM ${this.#name(USAGE_TABLE)}`,
    });
    const [entries, bytes] = (rows[0] ?? [0, 0]) as [number, number];
    return { entries, bytes };
  }
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
