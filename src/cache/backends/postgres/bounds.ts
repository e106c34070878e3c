import { createHash } from "node:crypto";
import type { Key } from "../../../types.js";
import { type Bounds, ENTRY_OVERHEAD, retentionCutoff, type StoreUsage } from "../../bounds.js";
import type { CacheEntry } from "../../entry.js";
import { query } from "./driver.js";
import type { PgPoolClient as PoolClient } from "./pool.js";
import { keyJson, LOCK_CLASS, qualified, quote, toTimestamp, urlWithoutNul, withoutNul } from "./sql.js";

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
/** The index of `requestful_lru` in the order of eviction. */
export const LRU_ORDER_INDEX = "requestful_lru_order";
/** The `used_from` of a table whose lowest last use is not known: eviction walks from the start. */
const NO_FLOOR = "'-9223372036854775808'::bigint";
/** The trigger function that keeps the books, once per statement. */
const BOOKS_FUNCTION = "requestful_bounds_books";
/**
 * The statement triggers that keep the books. The insert trigger keeps the name of the row trigger
 * of earlier releases, which install theirs on a table without a trigger of that name: a process of
 * an earlier release that opens the schema after the upgrade leaves the table as it is.
 */
const INSERT_TRIGGER = "requestful_bounds_row";
const UPDATE_TRIGGER = "requestful_bounds_update";
const DELETE_TRIGGER = "requestful_bounds_delete";

/** The second half of the advisory lock that bounded writes of one schema take in turn. */
function boundsLockId(schema: string): number {
  return createHash("sha256").update(`requestful:${schema}:bounds`).digest().readInt32BE(0);
}

/** The bytes of one row as the bounds count them (`row` names the row or a transition table's alias). */
function sizeOf(row: string): string {
  const bytes = (column: string) =>
    `coalesce(octet_length(${row}.${quote(column)}${column === "headers" ? "::text" : ""}), 0)`;
  return `(${[String(ENTRY_OVERHEAD), ...SIZED_COLUMNS.map(bytes)].join(" + ")})`;
}

/** The columns whose bytes an entry counts for, besides {@link ENTRY_OVERHEAD}; headers as jsonb prints them. */
const SIZED_COLUMNS = ["key_json", "payload", "payload_bytes", "url", "name", "headers", "meta"] as const;

/**
 * The bytes an entry will count for once stored, as {@link sizeOf} counts its row: the key as JSON,
 * the payload, the URL, the name, the headers as jsonb prints them and the metadata, as the table
 * holds them (U+0000 replaced in text columns).
 */
export function storedSize(entry: CacheEntry): number {
  const { payload } = entry;
  let size = ENTRY_OVERHEAD + byteLength(keyJson(entry.key));
  size += typeof payload === "string" ? byteLength(payload) : payload.byteLength;
  if (entry.url !== null) size += byteLength(urlWithoutNul(entry.url));
  if (entry.name !== null) size += byteLength(withoutNul(entry.name));
  if (entry.headers !== null) size += jsonbLength(JSON.parse(entry.headers));
  if (entry.meta !== null && entry.meta !== undefined) size += byteLength(withoutNul(entry.meta));
  return size;
}

/** The UTF-8 bytes of JSON as jsonb prints it: `", "` between items, `": "` after keys. */
function jsonbLength(value: unknown): number {
  if (Array.isArray(value)) {
    return value.reduce((sum: number, item) => sum + jsonbLength(item), 2) + 2 * Math.max(0, value.length - 1);
  }
  if (value !== null && typeof value === "object") {
    const items = Object.entries(value);
    return (
      items.reduce((sum, [name, item]) => sum + byteLength(JSON.stringify(name)) + 2 + jsonbLength(item), 2) +
      2 * Math.max(0, items.length - 1)
    );
  }
  return byteLength(JSON.stringify(value));
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * Keeps the tables of one PostgreSQL cache within `maxEntries` and `maxBytes`, and removes entries
 * past their retention.
 *
 * Accounting is exact: statement triggers keep `requestful_lru` (size and last use per entry) and
 * `requestful_usage` (totals per table) in the write's own transaction, once per statement, and a
 * statement trigger first takes one advisory lock per schema, so that bounded writes run one at a
 * time (in any process) and each evicts least recently used entries before it commits. Writes to
 * bounded tables are serialised per schema: the price of bounds that never overshoot.
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
    const schema = literal(this.schema);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${lru} ("tbl" text NOT NULL, "digest" bytea NOT NULL, "size" bigint NOT NULL, ` +
        `"used_at" bigint NOT NULL, PRIMARY KEY ("tbl", "digest"));` +
        `CREATE TABLE IF NOT EXISTS ${usage} ("tbl" text PRIMARY KEY, "entries" bigint NOT NULL, "bytes" bigint NOT NULL, ` +
        `"used_from" bigint NOT NULL DEFAULT ${NO_FLOOR});`,
    );
    // Stores made by earlier releases: "used_from" is added (no bound known yet), and the index on
    // "used_at" alone gives way to one in the order of eviction.
    const { rows } = await query(
      client,
      {
        text:
          "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'used_from' " +
          "AND NOT attisdropped), to_regclass($2) IS NULL, to_regclass($3) IS NOT NULL",
      },
      [usage, this.#name(LRU_ORDER_INDEX), this.#name(`${LRU_TABLE}_used_at`)],
    );
    const [lacksFloor, lacksOrder, hasOldIndex] = (rows[0] ?? []) as boolean[];
    if (lacksFloor)
      await client.query(`ALTER TABLE ${usage} ADD COLUMN "used_from" bigint NOT NULL DEFAULT ${NO_FLOOR}`);
    if (lacksOrder) {
      await client.query(`CREATE INDEX IF NOT EXISTS ${quote(LRU_ORDER_INDEX)} ON ${lru} ("used_at", "tbl", "digest")`);
    }
    if (hasOldIndex) await client.query(`DROP INDEX IF EXISTS ${this.#name(`${LRU_TABLE}_used_at`)}`);
    await client.query(
      `CREATE OR REPLACE FUNCTION ${this.#name("requestful_bounds_lock")}() RETURNS trigger LANGUAGE plpgsql AS $f$ ` +
        `BEGIN PERFORM ${lock}; RETURN NULL; END $f$;` +
        // Once per statement: the rows it removed ("gone") and wrote ("came") leave and enter the
        // books together, and the table's totals change once. What leaves is the size the books
        // hold, so an entry counted by an earlier release is taken out as it was put in.
        `CREATE OR REPLACE FUNCTION ${this.#name(BOOKS_FUNCTION)}() RETURNS trigger LANGUAGE plpgsql AS $f$ ` +
        `DECLARE tbl_name text := TG_TABLE_NAME; gone_entries bigint := 0; gone_bytes bigint := 0; ` +
        `came_entries bigint := 0; came_bytes bigint := 0; came_from bigint; BEGIN ` +
        // An upsert fires the update trigger too, mostly with no rows.
        `IF TG_OP = 'UPDATE' THEN PERFORM FROM "gone" LIMIT 1; IF NOT FOUND THEN RETURN NULL; END IF; END IF; ` +
        `IF TG_OP <> 'INSERT' THEN ` +
        `  WITH removed AS (DELETE FROM ${lru} AS l USING "gone" AS o WHERE l."tbl" = tbl_name AND l."digest" = o."key_digest" ` +
        `    RETURNING l."size") ` +
        `  SELECT count(*), coalesce(sum("size"), 0) INTO gone_entries, gone_bytes FROM removed; ` +
        `END IF; ` +
        `IF TG_OP <> 'DELETE' THEN ` +
        `  WITH added AS (INSERT INTO ${lru} ("tbl", "digest", "size", "used_at") ` +
        `    SELECT tbl_name, n."key_digest", ${sizeOf("n")}, (extract(epoch FROM n."cached_at") * 1000)::bigint ` +
        `    FROM "came" AS n RETURNING "size", "used_at") ` +
        `  SELECT count(*), coalesce(sum("size"), 0), min("used_at") INTO came_entries, came_bytes, came_from FROM added; ` +
        `END IF; ` +
        `IF came_entries > 0 OR gone_entries > 0 THEN ` +
        `  UPDATE ${usage} SET "entries" = "entries" + came_entries - gone_entries, "bytes" = "bytes" + came_bytes - gone_bytes, ` +
        `  "used_from" = least("used_from", came_from) WHERE "tbl" = tbl_name; ` +
        `END IF; RETURN NULL; END $f$;` +
        // Victims in one walk of the eviction order, from the lowest last use that the books know
        // of (the dead index entries of earlier victims are not walked again), as many as it takes;
        // then one DELETE per table, whose trigger takes them out of the books. Books of entries
        // whose rows are gone go as well.
        `CREATE OR REPLACE FUNCTION ${this.#name("requestful_evict")}(max_entries bigint, max_bytes bigint) RETURNS integer ` +
        `LANGUAGE plpgsql AS $f$ DECLARE total_entries bigint; total_bytes bigint; floor_at bigint; next_from bigint; ` +
        `victim record; tables text[] := '{}'; digests bytea[] := '{}'; first_tbl text; one_table boolean := true; ` +
        `tbl_names text[]; tbl_name text; chosen bytea[]; deleted bigint; orphans bigint; orphan_bytes bigint; ` +
        // A declared cursor is planned to give its first rows fast: a walk of the index, not a sort.
        `lru_order NO SCROLL CURSOR (from_at bigint) FOR SELECT "tbl", "digest", "size", "used_at" FROM ${lru} ` +
        `WHERE "used_at" >= from_at ORDER BY "used_at", "tbl", "digest"; BEGIN ` +
        `PERFORM ${lock}; ` +
        `SELECT coalesce(sum("entries"), 0), coalesce(sum("bytes"), 0), coalesce(min("used_from"), ${NO_FLOOR}) ` +
        `INTO total_entries, total_bytes, floor_at FROM ${usage}; ` +
        `IF total_entries <= max_entries AND total_bytes <= max_bytes THEN RETURN 0; END IF; ` +
        `FOR victim IN lru_order(floor_at) LOOP ` +
        `  IF total_entries <= max_entries AND total_bytes <= max_bytes THEN next_from := victim."used_at"; EXIT; END IF; ` +
        `  IF first_tbl IS NULL THEN first_tbl := victim."tbl"; ELSIF victim."tbl" <> first_tbl THEN one_table := false; END IF; ` +
        `  tables := tables || victim."tbl"; digests := digests || victim."digest"; ` +
        `  total_entries := total_entries - 1; total_bytes := total_bytes - victim."size"; ` +
        `END LOOP; ` +
        `IF first_tbl IS NULL THEN RETURN 0; END IF; ` +
        `IF one_table THEN tbl_names := ARRAY[first_tbl]; ELSE tbl_names := ARRAY(SELECT DISTINCT t FROM unnest(tables) AS t); END IF; ` +
        `FOREACH tbl_name IN ARRAY tbl_names LOOP ` +
        `  IF one_table THEN chosen := digests; ` +
        `  ELSE chosen := ARRAY(SELECT v.d FROM unnest(tables, digests) AS v(t, d) WHERE v.t = tbl_name); END IF; ` +
        `  deleted := 0; ` +
        `  IF to_regclass(format('%I.%I', ${schema}, tbl_name)) IS NOT NULL THEN ` +
        `    EXECUTE format('DELETE FROM %I.%I WHERE "key_digest" = ANY ($1)', ${schema}, tbl_name) USING chosen; ` +
        `    GET DIAGNOSTICS deleted = ROW_COUNT; ` +
        `  END IF; ` +
        `  IF deleted < cardinality(chosen) THEN ` +
        `    WITH removed AS (DELETE FROM ${lru} WHERE "tbl" = tbl_name AND "digest" = ANY (chosen) RETURNING "size") ` +
        `    SELECT count(*), coalesce(sum("size"), 0) INTO orphans, orphan_bytes FROM removed; ` +
        `    IF orphans > 0 THEN ` +
        `      UPDATE ${usage} SET "entries" = "entries" - orphans, "bytes" = "bytes" - orphan_bytes WHERE "tbl" = tbl_name; ` +
        `    END IF; ` +
        `  END IF; ` +
        `END LOOP; ` +
        // What is left was used at next_from or later.
        `IF next_from IS NOT NULL THEN UPDATE ${usage} SET "used_from" = next_from WHERE "used_from" < next_from; END IF; ` +
        `RETURN cardinality(digests); END $f$;`,
    );
  }

  /**
   * Installs the triggers of a table, counting what it holds when they are new; runs in the table's
   * set-up transaction. A table with the row trigger of an earlier release gets the statement
   * triggers in its place, and keeps its books: they hold what that trigger counted.
   */
  async register(client: PoolClient, table: string): Promise<void> {
    if (!this.bounds.bounded) return;
    const qualifiedTable = this.#name(table);
    const { rows } = await query(
      client,
      {
        text:
          "SELECT tgname::text, (tgtype & 1) = 1 FROM pg_catalog.pg_trigger " +
          "WHERE tgrelid = to_regclass($1) AND tgname = ANY ($2::text[])",
      },
      [qualifiedTable, [INSERT_TRIGGER, UPDATE_TRIGGER, DELETE_TRIGGER, "requestful_bounds_lock"]],
    );
    const found = new Map(rows.map((row) => [row[0] as string, row[1] as boolean]));
    const perRow = found.get(INSERT_TRIGGER) === true;
    if (found.size === 4 && !perRow) return;
    // The books change: no eviction may run meanwhile (it would miss the entries counted here).
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${boundsLockId(this.schema)})`);
    const books = this.#name(BOOKS_FUNCTION);
    const triggers =
      `DROP TRIGGER IF EXISTS ${quote(INSERT_TRIGGER)} ON ${qualifiedTable};` +
      `DROP TRIGGER IF EXISTS ${quote(UPDATE_TRIGGER)} ON ${qualifiedTable};` +
      `DROP TRIGGER IF EXISTS ${quote(DELETE_TRIGGER)} ON ${qualifiedTable};` +
      `DROP TRIGGER IF EXISTS "requestful_bounds_lock" ON ${qualifiedTable};` +
      `CREATE TRIGGER "requestful_bounds_lock" BEFORE INSERT OR UPDATE OR DELETE ON ${qualifiedTable} ` +
      `FOR EACH STATEMENT EXECUTE FUNCTION ${this.#name("requestful_bounds_lock")}();` +
      `CREATE TRIGGER ${quote(INSERT_TRIGGER)} AFTER INSERT ON ${qualifiedTable} REFERENCING NEW TABLE AS "came" ` +
      `FOR EACH STATEMENT EXECUTE FUNCTION ${books}();` +
      `CREATE TRIGGER ${quote(UPDATE_TRIGGER)} AFTER UPDATE ON ${qualifiedTable} ` +
      `REFERENCING OLD TABLE AS "gone" NEW TABLE AS "came" FOR EACH STATEMENT EXECUTE FUNCTION ${books}();` +
      `CREATE TRIGGER ${quote(DELETE_TRIGGER)} AFTER DELETE ON ${qualifiedTable} REFERENCING OLD TABLE AS "gone" ` +
      `FOR EACH STATEMENT EXECUTE FUNCTION ${books}();`;
    if (perRow) {
      await client.query(triggers);
      return;
    }
    const lru = this.#name(LRU_TABLE);
    const name = literal(table);
    await query(client, { text: `DELETE FROM ${lru} WHERE "tbl" = $1` }, [table]);
    await client.query(
      `INSERT INTO ${lru} ("tbl", "digest", "size", "used_at") SELECT ${name}, "key_digest", ${sizeOf(qualifiedTable)}, ` +
        `(extract(epoch FROM "cached_at") * 1000)::bigint FROM ${qualifiedTable};` +
        `INSERT INTO ${this.#name(USAGE_TABLE)} ("tbl", "entries", "bytes", "used_from") ` +
        `SELECT ${name}, count(*), coalesce(sum("size"), 0), coalesce(min("used_at"), ${NO_FLOOR}) FROM ${lru} WHERE "tbl" = ${name} ` +
        `ON CONFLICT ("tbl") DO UPDATE SET "entries" = excluded."entries", "bytes" = excluded."bytes", "used_from" = excluded."used_from";` +
        triggers,
    );
  }

  /** Whether an entry fits in the bounds at all: one larger than `maxBytes` is not stored. */
  accepts(entry: CacheEntry): boolean {
    return storedSize(entry) <= this.bounds.maxBytes;
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
   * the write, (now and then) a batch past retention, then eviction down to the bounds.
   */
  async write(client: PoolClient, tables: readonly string[], work: () => Promise<void>): Promise<void> {
    const touches = this.#touches;
    this.#touches = new Map();
    this.#touchCount = 0;
    const limit = (bound: number) => (Number.isFinite(bound) ? bound : Number.MAX_SAFE_INTEGER);
    const evict = `SELECT ${this.#name("requestful_evict")}(${limit(this.bounds.maxEntries)}, ${limit(this.bounds.maxBytes)})`;
    await client.query("BEGIN");
    try {
      if (touches.size > 0) {
        // The stamps change the books: under the lock that the write's own statements take first.
        await client.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${boundsLockId(this.schema)})`);
        const lru = this.#name(LRU_TABLE);
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
      }
      await work();
      await this.#sweepIfDue(client, tables);
      // Eviction and commit in one round trip: an error in the first skips the second.
      await client.query(`${evict}; COMMIT`);
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
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
