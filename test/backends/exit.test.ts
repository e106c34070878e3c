/**
 * A closed cache lets the process exit: each case runs a child process that opens a cache, uses it
 * and closes it, and must then exit by itself, well within a deadline.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dropSchema, POSTGRES_URL, postgresUnavailable, testSchema } from "../helpers/postgres.js";
import { pingRedis, REDIS_URL, removePrefix, uniquePrefix } from "../helpers/redis.js";

const root = join(import.meta.dirname, "..", "..");
const postgresSkip = await postgresUnavailable();
const redisSkip = await pingRedis();
const schema = testSchema("exit");
const prefix = uniquePrefix();

afterAll(async () => {
  if (postgresSkip === undefined) await dropSchema(schema);
  if (redisSkip === undefined) await removePrefix(prefix);
});

/** Runs the child, and resolves to its report; a child still alive at `deadline` ms is killed. */
function run(args: string[], deadline: number): Promise<{ report: Record<string, unknown>; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/close-and-exit.ts", ...args], {
      cwd: root,
    });
    let out = "";
    let err = "";
    let killed = false;
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, deadline);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      const line = out.trim().split("\n").at(-1);
      resolve({ report: line ? (JSON.parse(line) as Record<string, unknown>) : { stderr: err }, killed });
    });
  });
}

describe("a closed cache lets the process exit", () => {
  it.skipIf(postgresSkip !== undefined)(
    "PostgreSQL: even after work that threw before its statement was sent",
    async () => {
      const { report, killed } = await run(["postgres", POSTGRES_URL, schema], 20_000);
      expect(killed).toBe(false);
      expect(report).toMatchObject({ read: "payload", error: "RangeError" });
      // The pool's idle timeout is 10 s: a process that exits well before it has nothing left open.
      expect(report.exitMs).toBeLessThan(5_000);
    },
    30_000,
  );

  it.skipIf(redisSkip !== undefined)(
    "Redis: at once, without waiting on a connection that QUIT already ended",
    async () => {
      const { report, killed } = await run(["redis", REDIS_URL, prefix], 20_000);
      expect(killed).toBe(false);
      expect(report).toMatchObject({ read: "payload" });
      // It lingered 2 s (a reconnection timer); the margin leaves room for a busy machine.
      expect(report.exitMs).toBeLessThan(1_000);
    },
    30_000,
  );
});
