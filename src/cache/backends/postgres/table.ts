import { CacheError } from "../../../errors.js";
import { asUint8Array } from "../../../payload/convert.js";
import type { StoredPayload } from "../../../payload/handler.js";
import type { Key } from "../../../types.js";
import type { RepositoryStats, ResolvedFilter } from "../../admin.js";
import type { CacheEntry } from "../../entry.js";
import { type RepositoryOptions, ResponseRepository } from "../../repository.js";
import type { ResponseRepositorySettings } from "../../settings.js";
import * as admin from "./admin.js";
import type { PostgresBounds } from "./bounds.js";
import { type PostgresDriver, query, type Statement, transaction } from "./driver.js";
import type { PgPoolClient as PoolClient } from "./pool.js";
import {
  BYTES_PER_STATEMENT,
  checkTableName,
  chunks,
  fitIdentifier,
  INTERNAL_COLUMNS,
  KEYS_PER_STATEMENT,
  keyJson,
  LOCK_CLASS,
  MAX_PARAMETERS,
  qualified,
  quote,
  REGISTRY_TABLE,
  readablePart,
  schemaLockId,
  shortHash,
  toTimestamp,
  urlWithoutNul,
  withoutNul,
} from "./sql.js";

const SCAN_BATCH = 256;

/** The columns after the key columns, in the order they are written: name, type, constraint. */
const VALUE_COLUMNS = [
  ["name", "text", ""],
  ["cached_at", "timestamptz", " NOT NULL"],
  ["expires_at", "timestamptz", " NOT NULL"],
  ["status", "integer", ""],
  ["url", "text", ""],
  ["headers", "jsonb", ""],
  ["payload", "text", ""],
  ["payload_bytes", "bytea", ""],
  ["payload_is_text", "boolean", " NOT NULL"],
  ["meta", "text", ""],
  ["key_json", "text", " NOT NULL"],
  ["key_digest", "bytea", " NOT NULL"],
] as const;

/** What every read selects, in this order (see `toEntry`). */
const ENTRY_COLUMNS = [
  '"key_json"',
  '"name"',
  // date_part gives float8 seconds, far cheaper for the server than extract's numeric.
  "date_part('epoch', \"cached_at\")",
  "date_part('epoch', \"expires_at\")",
  '"payload"',
  '"payload_bytes"',
  '"payload_is_text"',
  '"status"',
  '"headers"::text',
  '"url"',
  '"meta"',
].join(", ");

/** The number of columns that `ENTRY_COLUMNS` selects. */
const ENTRY_WIDTH = 11;

/** Value columns that a table written by an earlier release lacks, added in place when it is opened. */
const ADDED_COLUMNS: readonly string[] = ["meta"];

type Row = unknown[];

/** What the table needs of its cache: the driver, and the schema it lives in. */
export interface PostgresTableContext {
  readonly driver: PostgresDriver;
  readonly schema: string;
  /** The cache's bounds and clean-up, when it has any. */
  readonly bounds?: PostgresBounds | undefined;
}

/**
 * A repository stored as one PostgreSQL table in the cache's schema: a readable `text` column per
 * key part (`method`, then one per field), `name`, `cached_at` and `expires_at` (`timestamptz`,
 * `expires_at` indexed), `status`, `url`, `headers` (`jsonb`), the payload (`payload` for text,
 * `payload_bytes` for bytes), and the exact key (`key_json`) whose SHA-256 (`key_digest`) is the
 * primary key.
 *
 * Made by {@link PostgresCache.createRepository}.
 */
export class PostgresTable<K extends Key = Key, V = unknown> extends ResponseRepository<K, V> {
  readonly backend = "postgres";
  /** The schema the table lives in. */
  readonly schema: string;
  /** The table's name in PostgreSQL: the repository name, or its shortened form past 63 bytes. */
  readonly tableName: string;
  /** The names of the key columns in PostgreSQL: `method`, then one per field (shortened past 63 bytes). */
  readonly keyColumns: readonly string[];
  readonly #driver: PostgresDriver;
  readonly #bounds: PostgresBounds | undefined;
  readonly #sql: Statements;
  /** Parameters per written row. */
  readonly #width: number;

  constructor(context: PostgresTableContext, settings: ResponseRepositorySettings<V>, options: RepositoryOptions = {}) {
    super(settings, options);
    checkTableName(settings.name);
    this.#driver = context.driver;
    this.#bounds = context.bounds;
    this.schema = context.schema;
    this.tableName = fitIdentifier(settings.name);
    this.keyColumns = ["method", ...settings.fields.map(fitIdentifier)];
    checkColumns(settings, this.keyColumns);
    // Every column is a parameter but key_digest, which the server computes.
    this.#width = this.keyColumns.length + VALUE_COLUMNS.length - 1;
    this.#sql = new Statements(this.schema, this.tableName, this.keyColumns);
  }

  /** `"schema"."table"`, ready to paste into SQL. */
  get qualifiedName(): string {
    return qualified(this.schema, this.tableName);
  }

  // ---------------------------------------------------------------------------------------------
  // Set-up

  protected async setUp(): Promise<void> {
    await this.#driver.run((client) =>
      transaction(client, async () => {
        // One process at a time: concurrent CREATE TABLE IF NOT EXISTS can fail in PostgreSQL.
        await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_CLASS, schemaLockId(this.schema)]);
        await this.#register(client);
        await this.#bounds?.register(client, this.tableName);
      }),
    );
  }

  async #register(client: PoolClient): Promise<void> {
    const registry = qualified(this.schema, REGISTRY_TABLE);
    const fields = this.settings.fields;
    const known = await query(
      client,
      { text: `SELECT "table_name", array_to_json("fields")::text FROM ${registry} WHERE "repository" = $1` },
      [this.name],
    );
    const row = known.rows[0];
    if (row !== undefined) {
      const had = JSON.parse(row[1] as string) as string[];
      if (had.length !== fields.length || had.some((field, i) => field !== fields[i])) {
        throw new CacheError(
          `repository "${this.name}" exists in schema "${this.schema}" with fields (${had.join(", ")}) but these ` +
            `settings need (${fields.join(", ")}); drop table ${this.qualifiedName}, or give the repository another name`,
        );
      }
    } else {
      const owner = await query(client, { text: `SELECT "repository" FROM ${registry} WHERE "table_name" = $1` }, [
        this.tableName,
      ]);
      if (owner.rows.length > 0) {
        throw new CacheError(
          `repository "${this.name}" would be stored in table ${this.qualifiedName}, which holds repository ` +
            `"${String(owner.rows[0]?.[0])}"; give the repository another name`,
        );
      }
    }

    const wanted = [...this.keyColumns, ...VALUE_COLUMNS.map(([column]) => column)];
    const existing = await query(
      client,
      {
        text:
          'SELECT "attname"::text FROM pg_catalog.pg_attribute ' +
          'WHERE "attrelid" = to_regclass($1) AND "attnum" > 0 AND NOT "attisdropped" ORDER BY "attnum"',
      },
      [this.qualifiedName],
    );
    if (existing.rows.length > 0) {
      const have = existing.rows.map((r) => r[0] as string);
      // A table of an earlier release lacks the columns added since: they are added in place.
      const missing = ADDED_COLUMNS.filter((column) => !have.includes(column));
      for (const column of missing) {
        const [, type] = VALUE_COLUMNS.find(([name]) => name === column) ?? [column, "text"];
        await client.query(`ALTER TABLE ${this.qualifiedName} ADD COLUMN IF NOT EXISTS ${quote(column)} ${type}`);
        have.push(column);
      }
      if (have.length !== wanted.length || !wanted.every((column) => have.includes(column))) {
        throw new CacheError(
          `table ${this.qualifiedName} exists with columns (${have.join(", ")}) but repository "${this.name}" ` +
            `needs (${wanted.join(", ")}); drop it, or give the repository another name`,
        );
      }
    } else {
      await client.query(this.#sql.createTable);
    }
    // Created only when missing: CREATE INDEX IF NOT EXISTS needs to own the table even when it exists.
    const index = await query(client, { text: "SELECT to_regclass($1) IS NULL" }, [this.#sql.indexName]);
    if (index.rows[0]?.[0] === true) await client.query(this.#sql.createIndex);
    if (row !== undefined) return;
    await query(
      client,
      {
        text:
          `INSERT INTO ${registry} ("repository", "table_name", "fields", "key_columns") VALUES ($1, $2, $3, $4) ` +
          'ON CONFLICT ("repository") DO NOTHING',
      },
      [this.name, this.tableName, fields, this.keyColumns],
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  protected override async readPayload(key: K, now: number): Promise<StoredPayload | undefined> {
    const { rows } = await this.#driver.run((client) =>
      query(client, this.#sql.selectPayload, [keyJson(key), toTimestamp(now)]),
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    this.#bounds?.touch(this.tableName, key);
    return toPayload(row[0], row[1], row[2]);
  }

  protected override async readEntry(key: K, now: number | undefined): Promise<CacheEntry<K> | undefined> {
    const json = keyJson(key);
    const { rows } = await this.#driver.run((client) =>
      now === undefined
        ? query(client, this.#sql.selectAnyEntry, [json])
        : query(client, this.#sql.selectEntry, [json, toTimestamp(now)]),
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    this.#bounds?.touch(this.tableName, key);
    return toEntry(row, new Map([[json, key]]));
  }

  protected override async hasEntry(key: K, now: number): Promise<boolean> {
    const { rows } = await this.#driver.run((client) =>
      query(client, this.#sql.exists, [keyJson(key), toTimestamp(now)]),
    );
    return rows.length > 0;
  }

  protected async readEntries(keys: readonly K[], now: number | undefined): Promise<CacheEntry<K>[]> {
    const byJson = new Map<string, K>();
    for (const key of keys) byJson.set(keyJson(key), key);
    const ids = [...byJson.keys()];
    const at = now === undefined ? undefined : toTimestamp(now);
    const rows = await this.#driver.run(async (client, progress) => {
      const found: Row[] = [];
      for (const chunk of chunks(ids, KEYS_PER_STATEMENT)) {
        const result =
          at === undefined
            ? await query(client, this.#sql.selectAnyMany, [chunk])
            : await query(client, this.#sql.selectMany, [chunk, at]);
        for (const row of result.rows) found.push(row);
        progress();
      }
      return found;
    });
    const entries = rows.map((row) => toEntry(row, byJson));
    for (const entry of entries) this.#bounds?.touch(this.tableName, entry.key);
    return entries;
  }

  protected async countEntries(now: number | undefined): Promise<number> {
    const { rows } = await this.#driver.run((client) =>
      now === undefined ? query(client, this.#sql.countAll) : query(client, this.#sql.countLive, [toTimestamp(now)]),
    );
    return rows[0]?.[0] as number;
  }

  protected async *scanEntries(now: number): AsyncGenerator<CacheEntry<K>> {
    const at = toTimestamp(now);
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const { rows } = await this.#driver.run((client) => query(client, this.#sql.scan, [after, at, SCAN_BATCH]));
      for (const row of rows) yield toEntry<K>(row);
      if (rows.length < SCAN_BATCH) return;
      after = (rows.at(-1) as Row)[ENTRY_WIDTH] as Buffer;
    }
  }

  protected override countMatching(filter: ResolvedFilter): Promise<number> {
    return admin.countMatching(this.#driver, this.qualifiedName, filter);
  }

  protected override purgeMatching(filter: ResolvedFilter, limit: number): Promise<number> {
    return admin.purgeMatching(this.#driver, this.qualifiedName, filter, limit);
  }

  protected override measureEntries(now: number): Promise<RepositoryStats> {
    return admin.measureEntries(this.#driver, this.qualifiedName, now);
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  protected override async writeEntry(entry: CacheEntry<K>): Promise<void> {
    if (this.#bounds?.bounded) return this.writeEntries([entry]);
    const values: unknown[] = [];
    pushRow(values, entry);
    await this.#driver.run(async (client) => {
      await query(client, this.#sql.upsert(1), values);
      await this.#bounds?.afterUnboundedWrite(client, [this.tableName]);
    });
  }

  protected async writeEntries(entries: readonly CacheEntry<K>[]): Promise<void> {
    const bounds = this.#bounds;
    if (bounds?.bounded) {
      // An entry larger than the whole bound is not stored, and evicts nothing.
      const kept = entries.filter((entry) => bounds.accepts(entry));
      const batches = kept.length === 0 ? [] : this.#batches(kept);
      await this.#driver.run(
        (client, progress) =>
          bounds.write(client, [this.tableName], async () => {
            for (const batch of batches) {
              await query(client, this.#sql.upsert(batch.rows), batch.values);
              progress();
            }
          }),
        false,
      );
      return;
    }
    const batches = this.#batches(entries);
    await this.#driver.run(async (client, progress) => {
      const [only] = batches;
      if (batches.length === 1 && only !== undefined) {
        // One statement is all or nothing by itself.
        await query(client, this.#sql.upsert(only.rows), only.values);
        return;
      }
      await transaction(client, async () => {
        for (const batch of batches) {
          await query(client, this.#sql.upsert(batch.rows), batch.values);
          progress();
        }
      });
    });
  }

  protected async removeEntries(keys: readonly K[]): Promise<number> {
    const parts = [...chunks(keys.map(keyJson), KEYS_PER_STATEMENT)];
    return this.#driver.run(async (client, progress) => {
      const [only] = parts;
      if (parts.length === 1 && only !== undefined) return (await query(client, this.#sql.deleteMany, [only])).rowCount;
      return transaction(client, async () => {
        let removed = 0;
        for (const part of parts) {
          removed += (await query(client, this.#sql.deleteMany, [part])).rowCount;
          progress();
        }
        return removed;
      });
      // Not repeated on a dead connection: a repeat after a commit would count 0 removed.
    }, false);
  }

  protected async clearEntries(now: number | undefined): Promise<number> {
    const { rowCount } = await this.#driver.run(
      (client) =>
        now === undefined
          ? query(client, this.#sql.clearAll)
          : query(client, this.#sql.clearExpired, [toTimestamp(now)]),
      false,
    );
    return rowCount;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Entries as the parameters of multi-row INSERT statements: each under PostgreSQL's limit of
   * 65,535 parameters and about {@link BYTES_PER_STATEMENT} bytes of payload.
   */
  #batches(entries: readonly CacheEntry<K>[]): { rows: number; values: unknown[] }[] {
    const perStatement = Math.floor(MAX_PARAMETERS / this.#width);
    const batches: { rows: number; values: unknown[] }[] = [];
    let current: { rows: number; values: unknown[] } = { rows: 0, values: [] };
    let bytes = 0;
    for (const entry of entries) {
      const size = typeof entry.payload === "string" ? entry.payload.length * 3 : entry.payload.byteLength;
      if (current.rows > 0 && (current.rows >= perStatement || bytes + size > BYTES_PER_STATEMENT)) {
        batches.push(current);
        current = { rows: 0, values: [] };
        bytes = 0;
      }
      pushRow(current.values, entry);
      current.rows++;
      bytes += size;
    }
    if (current.rows > 0) batches.push(current);
    return batches;
  }
}

/** Appends the values of one row, in the order of the table's columns. */
function pushRow(values: unknown[], entry: CacheEntry): void {
  const json = keyJson(entry.key);
  const { payload } = entry;
  for (const part of entry.key) values.push(readablePart(part));
  values.push(
    entry.name === null ? null : withoutNul(entry.name),
    toTimestamp(entry.cachedAt),
    toTimestamp(entry.expiresAt),
    entry.status,
    entry.url === null ? null : urlWithoutNul(entry.url),
    entry.headers,
  );
  if (typeof payload !== "string") {
    values.push(null, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), false);
  } else if (payload.includes("\0")) {
    // `text` cannot hold U+0000: such text goes to payload_bytes as UTF-8, still marked as text.
    values.push(null, Buffer.from(payload, "utf8"), true);
  } else {
    values.push(payload, null, true);
  }
  values.push(entry.meta === null || entry.meta === undefined ? null : withoutNul(entry.meta), json);
}

/**
 * An entry from a row of `ENTRY_COLUMNS`. The key comes from `keys` when the caller asked for it
 * (no need to parse it again), else from `key_json`.
 */
function toEntry<K extends Key>(row: Row, keys?: ReadonlyMap<string, K>): CacheEntry<K> {
  const json = row[0] as string;
  const headers = row[8] as string | null;
  return {
    key: keys?.get(json) ?? (JSON.parse(json) as K),
    name: row[1] as string | null,
    cachedAt: fromEpochSeconds(row[2] as number),
    expiresAt: fromEpochSeconds(row[3] as number),
    payload: toPayload(row[4], row[5], row[6]),
    status: row[7] as number | null,
    // jsonb prints with spaces; give back the compact JSON text that was saved.
    headers: headers === null ? null : JSON.stringify(JSON.parse(headers)),
    url: row[9] as string | null,
    meta: row[10] as string | null,
  };
}

/**
 * Epoch milliseconds from the float8 seconds of `date_part('epoch', …)`: exact to the microsecond
 * up to the year 2255 (to the millisecond after it), as `timestamptz` keeps them.
 */
function fromEpochSeconds(seconds: number): number {
  const micros = seconds * 1e6;
  return Math.abs(micros) < 2 ** 53 ? Math.round(micros) / 1000 : Math.round(seconds * 1000);
}

function toPayload(text: unknown, bytes: unknown, isText: unknown): StoredPayload {
  if (typeof text === "string") return text;
  const buffer = bytes as Buffer;
  return isText === true ? buffer.toString("utf8") : asUint8Array(buffer);
}

/** Refuses fields whose columns would clash with the backend's own columns or with each other. */
function checkColumns(settings: ResponseRepositorySettings<unknown>, keyColumns: readonly string[]): void {
  for (const field of settings.fields) {
    if ((INTERNAL_COLUMNS as readonly string[]).includes(field.toLowerCase())) {
      throw new CacheError(
        `settings "${settings.name}" cannot use the field name "${field}" with the PostgreSQL backend: ` +
          `${INTERNAL_COLUMNS.join(", ")} are kept for the entry itself`,
      );
    }
  }
  if (new Set(keyColumns).size !== keyColumns.length) {
    throw new CacheError(
      `settings "${settings.name}" has fields whose PostgreSQL column names clash: ${keyColumns.slice(1).join(", ")}`,
    );
  }
}

/** Every statement of one table, written once; each is prepared on a connection the first time it runs there. */
class Statements {
  readonly createTable: string;
  readonly createIndex: string;
  readonly indexName: string;
  readonly selectPayload: Statement;
  readonly selectEntry: Statement;
  /** The entry for a key, expired or not. */
  readonly selectAnyEntry: Statement;
  readonly exists: Statement;
  readonly selectMany: Statement;
  /** The entries for many keys, expired or not. */
  readonly selectAnyMany: Statement;
  readonly countAll: Statement;
  readonly countLive: Statement;
  readonly scan: Statement;
  readonly deleteMany: Statement;
  readonly clearAll: Statement;
  readonly clearExpired: Statement;
  readonly #insert: string;
  readonly #conflict: string;
  readonly #width: number;
  readonly #upserts = new Map<number, Statement>();

  constructor(schema: string, table: string, keyColumns: readonly string[]) {
    const t = qualified(schema, table);
    const keys = keyColumns.map(quote);
    this.createTable =
      `CREATE TABLE IF NOT EXISTS ${t} (\n` +
      keys.map((column) => `  ${column} text NOT NULL,\n`).join("") +
      VALUE_COLUMNS.map(([column, type, constraint]) => `  ${quote(column)} ${type}${constraint},\n`).join("") +
      `  CONSTRAINT ${quote(fitIdentifier(`requestful_${table}_pkey`))} PRIMARY KEY ("key_digest"),\n` +
      `  CONSTRAINT ${quote(fitIdentifier(`requestful_${table}_one_payload`))} ` +
      `CHECK (("payload" IS NULL) <> ("payload_bytes" IS NULL))\n)`;
    this.indexName = qualified(schema, fitIdentifier(`requestful_${table}_expires_at`));
    this.createIndex = `CREATE INDEX IF NOT EXISTS ${quote(fitIdentifier(`requestful_${table}_expires_at`))} ON ${t} ("expires_at")`;

    const live = `"expires_at" > $2::timestamptz`;
    // The server digests the keys: SHA-256 of the UTF-8 of key_json.
    const one = `"key_digest" = ${digestOf("$1::text")}`;
    const many = `"key_digest" = ANY (ARRAY(SELECT ${digestOf("k")} FROM unnest($1::text[]) AS k))`;
    this.selectPayload = named(
      `SELECT "payload", "payload_bytes", "payload_is_text" FROM ${t} WHERE ${one} AND ${live}`,
    );
    this.selectEntry = named(`SELECT ${ENTRY_COLUMNS} FROM ${t} WHERE ${one} AND ${live}`);
    this.selectAnyEntry = named(`SELECT ${ENTRY_COLUMNS} FROM ${t} WHERE ${one}`);
    this.exists = named(`SELECT 1 FROM ${t} WHERE ${one} AND ${live}`);
    this.selectMany = named(`SELECT ${ENTRY_COLUMNS} FROM ${t} WHERE ${many} AND ${live}`);
    this.selectAnyMany = named(`SELECT ${ENTRY_COLUMNS} FROM ${t} WHERE ${many}`);
    this.countAll = named(`SELECT count(*) FROM ${t}`);
    this.countLive = named(`SELECT count(*) FROM ${t} WHERE "expires_at" > $1::timestamptz`);
    this.scan = named(
      `SELECT ${ENTRY_COLUMNS}, "key_digest" FROM ${t} WHERE "key_digest" > $1 AND ${live} ` +
        'ORDER BY "key_digest" LIMIT $3',
    );
    this.deleteMany = named(`DELETE FROM ${t} WHERE ${many}`);
    this.clearAll = named(`DELETE FROM ${t}`);
    this.clearExpired = named(`DELETE FROM ${t} WHERE "expires_at" <= $1::timestamptz`);

    const columns = [...keys, ...VALUE_COLUMNS.map(([column]) => quote(column))];
    this.#width = columns.length - 1;
    this.#insert = `INSERT INTO ${t} (${columns.join(", ")}) VALUES `;
    const update = VALUE_COLUMNS.filter(([column]) => column !== "key_digest")
      .map(([column]) => `${quote(column)} = excluded.${quote(column)}`)
      .join(", ");
    this.#conflict = ` ON CONFLICT ("key_digest") DO UPDATE SET ${update}`;
  }

  /**
   * `INSERT … VALUES (…), (…) ON CONFLICT … DO UPDATE` for `rows` rows. The statements for one row
   * and for full batches are prepared and kept; others run unnamed.
   */
  upsert(rows: number): Statement {
    const kept = this.#upserts.get(rows);
    if (kept !== undefined) return kept;
    const width = this.#width;
    const tuples: string[] = [];
    for (let row = 0; row < rows; row++) {
      // PostgreSQL types each parameter after the column it goes to; key_digest is computed from key_json.
      const base = row * width;
      const values = Array.from({ length: width }, (_, i) => `$${base + i + 1}`);
      tuples.push(`(${values.join(", ")}, ${digestOf(`$${base + width}::text`)})`);
    }
    const text = this.#insert + tuples.join(", ") + this.#conflict;
    if (rows !== 1 && rows !== Math.floor(MAX_PARAMETERS / width)) return { text };
    const statement = named(text);
    this.#upserts.set(rows, statement);
    return statement;
  }
}

/** SQL for the digest of a key's JSON text: the primary key. */
function digestOf(json: string): string {
  return `sha256(convert_to(${json}, 'UTF8'))`;
}

function named(text: string): Statement {
  return { name: `requestful_${shortHash(text, 24)}`, text };
}
