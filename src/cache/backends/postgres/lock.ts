import { createHash } from "node:crypto";
import type { StoreLocks } from "../../single-flight.js";
import { Waiters } from "../../single-flight-waiters.js";
import { type PostgresDriver, query, transaction } from "./driver.js";
import type { PgPoolClient as PoolClient } from "./pool.js";
import { LOCK_CLASS, qualified, schemaLockId } from "./sql.js";

/** One row per key being fetched: who holds it, and until when (by the server's clock). */
export const LOCK_TABLE = "requestful_locks";

/**
 * Locks with a lease in a table of the schema: taking one is an upsert that only overwrites an
 * expired row, releasing deletes the row if the token still holds it and sends a NOTIFY, and
 * waiters LISTEN on one connection of the pool (taken on the first wait and kept), with a timer at
 * the end of the lease in case the holder died. Leases follow the server's clock.
 */
export class PostgresLocks implements StoreLocks {
  readonly #driver: PostgresDriver;
  readonly #table: string;
  readonly #channel: string;
  readonly #waiters = new Waiters();
  #listener: Promise<PoolClient> | undefined;
  #created: Promise<void> | undefined;

  readonly #schema: string;

  constructor(driver: PostgresDriver, schema: string) {
    this.#driver = driver;
    this.#schema = schema;
    this.#table = qualified(schema, LOCK_TABLE);
    this.#channel = `requestful_released_${createHash("sha256").update(schema).digest("hex").slice(0, 16)}`;
  }

  /**
   * Creates the lock table on first use (a schema whose caches never lock never has it), one process
   * at a time. A role without CREATE rights on the schema fails here, and the fill fails open.
   */
  #create(): Promise<void> {
    this.#created ??= this.#driver
      .run((client) =>
        transaction(client, async () => {
          await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_CLASS, schemaLockId(this.#schema)]);
          // Unlogged: a lock is worth nothing after a crash (its lease is what frees it), so taking
          // and releasing one writes no WAL and waits for no flush. A table made logged by an
          // earlier release is made unlogged once.
          await client.query(
            `CREATE UNLOGGED TABLE IF NOT EXISTS ${this.#table} ` +
              '("id" text PRIMARY KEY, "token" text NOT NULL, "expires_at" timestamptz NOT NULL)',
          );
          const { rows } = await client.query(
            `SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = to_regclass('${this.#table.replaceAll("'", "''")}')`,
          );
          if ((rows[0] as { relpersistence?: string } | undefined)?.relpersistence === "p") {
            await client.query(`ALTER TABLE ${this.#table} SET UNLOGGED`);
          }
        }),
      )
      .catch((error: unknown) => {
        this.#created = undefined;
        throw error;
      });
    return this.#created;
  }

  async acquire(id: string, token: string, lease: number): Promise<boolean> {
    await this.#create();
    const { rowCount } = await this.#driver.run(
      (client) =>
        query(
          client,
          {
            text:
              `INSERT INTO ${this.#table} ("id", "token", "expires_at") VALUES ($1, $2, now() + $3 * interval '1 millisecond') ` +
              `ON CONFLICT ("id") DO UPDATE SET "token" = excluded."token", "expires_at" = excluded."expires_at" ` +
              `WHERE ${this.#table}."expires_at" <= now()`,
          },
          [withoutNul(id), token, lease],
        ),
      false,
    );
    return rowCount === 1;
  }

  async release(id: string, token: string): Promise<void> {
    await this.#driver.run((client) =>
      query(
        client,
        {
          text:
            `WITH gone AS (DELETE FROM ${this.#table} WHERE "id" = $1 AND "token" = $2 RETURNING "id") ` +
            "SELECT pg_notify($3, $1) FROM gone",
        },
        [withoutNul(id), token, this.#channel],
      ),
    );
  }

  async waitForRelease(id: string, until: number, signal: AbortSignal | undefined): Promise<boolean> {
    await this.#listen();
    const key = withoutNul(id);
    return this.#waiters.wait(key, until - Date.now(), signal, async () => {
      const { rows } = await this.#driver.run((client) =>
        query(
          client,
          {
            text: `SELECT (extract(epoch FROM "expires_at" - now()) * 1000)::float8 FROM ${this.#table} WHERE "id" = $1`,
          },
          [key],
        ),
      );
      return rows.length === 0 ? 0 : Number(rows[0]?.[0]);
    });
  }

  #listen(): Promise<PoolClient> {
    this.#listener ??= (async () => {
      const client = await this.#driver.pool.connect();
      client.on("notification", (message) => {
        if (message.channel === this.#channel && message.payload !== undefined) this.#waiters.wake(message.payload);
      });
      client.on("error", () => {
        this.#listener = undefined;
      });
      await client.query(`LISTEN ${this.#channel}`);
      return client;
    })().catch((error: unknown) => {
      this.#listener = undefined;
      throw error;
    });
    return this.#listener;
  }

  /** Gives the listening connection back, closed. */
  async close(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener === undefined) return;
    try {
      (await listener).release(true);
    } catch {
      // It never opened.
    }
  }
}

/** A lock id as `text` can hold it: the NUL between the repository's name and the key's JSON becomes the text `\u0000`. */
function withoutNul(id: string): string {
  return id.replaceAll("\0", "\\u0000");
}
