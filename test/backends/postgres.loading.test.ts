/**
 * `pg` is an optional peer dependency: nothing loads it until `ResponseCache.create` makes a
 * PostgreSQL cache or one connects, and without it both fail with a CacheError that says what to
 * install. Each case runs in a
 * fresh process, so that no other test has loaded `pg` before.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { dropSchema, POSTGRES_URL, postgresUnavailable, testSchema } from "../helpers/postgres.js";

const skip = await postgresUnavailable();
if (skip) console.warn(`[postgres loading] skipping the case that connects: ${skip}`);

const root = join(import.meta.dirname, "..", "..");
const run = promisify(execFile);

async function child(mode: "lazy" | "missing", url: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(join(root, "node_modules/.bin/tsx"), ["test/helpers/postgres-loading.ts", mode, url], {
    cwd: root,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;
}

describe("loading pg", () => {
  it.skipIf(skip !== undefined)("loads pg only when create() makes a PostgreSQL cache or one connects", async () => {
    const schema = testSchema("loading");
    try {
      const report = await child("lazy", `${POSTGRES_URL}?schema=${schema}`);
      expect(report).toEqual({
        afterImport: false,
        afterConstruct: false,
        afterCreate: true,
        connected: true,
        afterConnect: true,
        isPostgres: true,
      });
    } finally {
      await dropSchema(schema);
    }
  });

  it("names the package to install when pg is missing: create() rejects, and connect() fails", async () => {
    // No server is needed: the driver is loaded before any connection is made.
    const report = await child("missing", "postgres://postgres@127.0.0.1:1/none");
    expect(report.afterImport).toBe(false);
    expect(report.isPostgres).toBe(true);
    const hint = {
      name: "MissingDriverError",
      packageName: "pg",
      message: 'the PostgreSQL backend needs the "pg" package: npm install pg',
    };
    expect(report.createError).toEqual(hint);
    expect(report.afterCreate).toBeUndefined();
    expect(report.error).toEqual(hint);
    expect(report.afterConnect).toBe(false);
  });
});
