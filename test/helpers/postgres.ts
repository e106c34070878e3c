/**
 * The PostgreSQL server that the tests use (127.0.0.1:5432, database "test"), a probe that says
 * whether it answers, and schemas of their own for each test run.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const POSTGRES_URL = process.env.REQUESTFUL_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * Why the PostgreSQL tests cannot run, or `undefined` when the server answers. Under CI a server
 * that does not answer is a failure, not a reason to skip: this throws.
 */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    const reason = `PostgreSQL does not answer at ${POSTGRES_URL}: ${(error as Error).message}`;
    if (process.env.CI) throw new Error(`${reason} (CI must run the PostgreSQL tests)`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A schema name of its own: `requestful_test_<random>`. */
export function testSchema(label = "test"): string {
  return `requestful_${label}_${randomBytes(6).toString("hex")}`;
}

/** Runs SQL on the test server through a short-lived client. */
export async function sql<T extends unknown[] = unknown[]>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query({ text, values, rowMode: "array" })).rows as T[];
  } finally {
    await client.end();
  }
}

/** Drops a schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
}
