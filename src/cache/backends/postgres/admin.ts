import type { RepositoryStats, ResolvedFilter } from "../../admin.js";
import type { StoreSize } from "../../cache.js";
import { globToLike } from "../../glob.js";
import { parseRecord, type RepositoryRecord } from "../../records.js";
import { type PostgresDriver, query, transaction } from "./driver.js";
import type { PgPoolClient as PoolClient } from "./pool.js";
import { LOCK_CLASS, qualified, REGISTRY_TABLE, schemaLockId, toTimestamp } from "./sql.js";
import type { PostgresTable } from "./table.js";

/**
 * Each repository's record is kept beside its row in the schema's registry of tables, in a `record`
 * column that is added in place the first time a record is saved.
 */
const RECORD_COLUMN = "record";

function whereOf(filter: ResolvedFilter): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (condition: (n: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(condition(`$${params.length}`));
  };
  if (filter.state === "live") add((n) => `"expires_at" > ${n}::timestamptz`, toTimestamp(filter.now));
  else if (filter.state === "expired") add((n) => `"expires_at" <= ${n}::timestamptz`, toTimestamp(filter.now));
  if (filter.cachedBefore !== undefined) {
    add((n) => `"cached_at" < ${n}::timestamptz`, toTimestamp(filter.cachedBefore as number));
  }
  if (filter.match !== undefined) add((n) => `"url" LIKE ${n}::text ESCAPE '\\'`, globToLike(filter.match));
  return { where: conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`, params };
}

export async function countMatching(driver: PostgresDriver, table: string, filter: ResolvedFilter): Promise<number> {
  const { where, params } = whereOf(filter);
  const { rows } = await driver.run((client) =>
    query(client, { text: `SELECT count(*) FROM ${table}${where}` }, params),
  );
  return rows[0]?.[0] as number;
}

/** Removes at most `limit` matching rows in one statement (`expires_at` conditions use its index). */
export async function purgeMatching(
  driver: PostgresDriver,
  table: string,
  filter: ResolvedFilter,
  limit: number,
): Promise<number> {
  const { where, params } = whereOf(filter);
  const text =
    `DELETE FROM ${table} WHERE "key_digest" IN ` +
    `(SELECT "key_digest" FROM ${table}${where} LIMIT $${params.length + 1})`;
  const { rowCount } = await driver.run((client) => query(client, { text }, [...params, limit]), false);
  return rowCount;
}

export async function measureEntries(driver: PostgresDriver, table: string, now: number): Promise<RepositoryStats> {
  const text =
    `SELECT count(*), count(*) FILTER (WHERE "expires_at" > $1::timestamptz), ` +
    `COALESCE(sum(COALESCE(octet_length("payload"), octet_length("payload_bytes"))), 0)::float8, ` +
    `date_part('epoch', min("cached_at")), date_part('epoch', max("cached_at")) FROM ${table}`;
  const { rows } = await driver.run((client) => query(client, { text }, [toTimestamp(now)]));
  const [entries, live, payloadBytes, oldest, newest] = (rows[0] ?? []) as (number | null)[];
  const instant = (seconds: number | null | undefined) =>
    seconds === null || seconds === undefined ? null : Math.round(seconds * 1_000_000) / 1_000;
  return {
    entries: entries ?? 0,
    live: live ?? 0,
    expired: (entries ?? 0) - (live ?? 0),
    payloadBytes: payloadBytes ?? 0,
    oldest: instant(oldest),
    newest: instant(newest),
  };
}

export async function saveRecord(driver: PostgresDriver, schema: string, record: RepositoryRecord): Promise<void> {
  const registry = qualified(schema, REGISTRY_TABLE);
  await driver.run((client) =>
    transaction(client, async () => {
      if (!(await hasRecordColumn(client, registry))) {
        // One process at a time: two concurrent ALTER TABLEs of one table can fail.
        await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_CLASS, schemaLockId(schema)]);
        await client.query(`ALTER TABLE ${registry} ADD COLUMN IF NOT EXISTS "${RECORD_COLUMN}" text`);
      }
      await query(
        client,
        {
          text:
            `UPDATE ${registry} SET "${RECORD_COLUMN}" = $2 ` +
            `WHERE "repository" = $1 AND "${RECORD_COLUMN}" IS DISTINCT FROM $2`,
        },
        [record.name, JSON.stringify(record)],
      );
    }),
  );
}

async function hasRecordColumn(client: PoolClient, registry: string): Promise<boolean> {
  const { rows } = await query(
    client,
    {
      text:
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass($1) " +
        "AND attname = $2 AND NOT attisdropped)",
    },
    [registry, RECORD_COLUMN],
  );
  return rows[0]?.[0] === true;
}

export async function loadRecords(driver: PostgresDriver, schema: string): Promise<RepositoryRecord[]> {
  const registry = qualified(schema, REGISTRY_TABLE);
  return driver.run(async (client) => {
    if (!(await hasRecordColumn(client, registry))) return [];
    const { rows } = await query(client, {
      text: `SELECT "${RECORD_COLUMN}" FROM ${registry} WHERE "${RECORD_COLUMN}" IS NOT NULL`,
    });
    return rows.map((row) => parseRecord(row[0] as string, `PostgreSQL table ${registry}`));
  });
}

/** The disk space of every table of the schema, with their indexes and TOAST data. */
export async function measureStore(driver: PostgresDriver, schema: string): Promise<StoreSize> {
  const text =
    "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::float8 FROM pg_catalog.pg_class c " +
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'";
  const { rows } = await driver.run((client) => query(client, { text }, [schema]));
  return { bytes: (rows[0]?.[0] as number) ?? 0, measured: "tables" };
}

/**
 * Row checks: every row's primary key is the digest of its key, exactly one payload column is set,
 * and the schema's registry lists the table.
 */
export async function checkStore(
  driver: PostgresDriver,
  schema: string,
  tables: Iterable<PostgresTable>,
): Promise<string[]> {
  const problems: string[] = [];
  const registry = qualified(schema, REGISTRY_TABLE);
  for (const table of tables) {
    const t = table.qualifiedName;
    const text =
      `SELECT count(*) FILTER (WHERE "key_digest" <> sha256(convert_to("key_json", 'UTF8'))), ` +
      `count(*) FILTER (WHERE ("payload" IS NULL) = ("payload_bytes" IS NULL)), ` +
      `(SELECT count(*) FROM ${registry} WHERE "repository" = $1) FROM ${t}`;
    const { rows } = await driver.run((client) => query(client, { text }, [table.name]));
    const [digests, payloads, registered] = (rows[0] ?? [0, 0, 0]) as number[];
    if (digests) problems.push(`repository "${table.name}": ${digests} rows whose key_digest is not their key's`);
    if (payloads) problems.push(`repository "${table.name}": ${payloads} rows without exactly one payload`);
    if (!registered) problems.push(`repository "${table.name}": table ${t} is missing from ${registry}`);
  }
  return problems;
}

/** VACUUM (ANALYZE) of every repository's table. */
export async function compactStore(driver: PostgresDriver, tables: Iterable<PostgresTable>): Promise<void> {
  for (const table of tables) {
    await driver.run((client) => client.query(`VACUUM (ANALYZE) ${table.qualifiedName}`), false);
  }
}
