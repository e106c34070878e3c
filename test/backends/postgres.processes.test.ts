/**
 * Four processes share one PostgreSQL cache and write, read and delete the same keys at once:
 * nothing is lost, nothing is torn, and the counts are exact.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { type AnyRepository, defineSettings, type Key, PostgresCache } from "../../src/index.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, testSchema } from "../helpers/postgres.js";

const skip = await postgresUnavailable();
if (skip) console.warn(`[postgres processes] skipping: ${skip}`);

const root = join(import.meta.dirname, "..", "..");
const WORKERS = 4;

interface Summary {
  worker: string;
  reads: number;
  removed: number;
  bad: string[];
  ownFound: number;
}

/** Starts a worker and resolves when it says it is connected. */
async function start(schema: string, worker: number) {
  const child = spawn(
    join(root, "node_modules/.bin/tsx"),
    ["test/helpers/postgres-worker.ts", POSTGRES_URL, schema, String(worker)],
    {
      cwd: root,
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let errors = "";
  child.stderr?.on("data", (chunk) => {
    errors += String(chunk);
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const output: string[] = [];
  lines.on("line", (line) => output.push(line));
  const exited = once(child, "exit") as Promise<[number | null]>;
  const ready = new Promise<void>((resolve, reject) => {
    lines.on("line", (line) => line === "ready" && resolve());
    exited.then(([code]) => reject(new Error(`worker ${worker} exited with ${code}: ${errors}`)));
  });
  await ready;
  return { child, output, exited, errors: () => errors };
}

describe.skipIf(skip !== undefined)("postgres shared by processes", () => {
  const children: ChildProcess[] = [];
  let schema = "";

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
    if (schema) await dropSchema(schema);
  });

  it("loses nothing when four processes write, read and delete the same keys at once", {
    timeout: 120_000,
  }, async () => {
    schema = testSchema("processes");
    // The parent seeds the keys that every worker will try to delete at once.
    const seed = PostgresCache.connect(POSTGRES_URL, { schema });
    const repo = seed.createRepository(
      defineSettings({ name: "shared", fields: ["id"], getKey: () => [null] }),
    ) as AnyRepository;
    await seed.connect();
    const doomed: Key[] = Array.from({ length: 400 }, (_, i) => ["GET", `doomed-${i}`]);
    expect(await repo.saveResponses(doomed.map((key) => [key, "doomed"] as const))).toBe(400);

    const workers = await Promise.all(Array.from({ length: WORKERS }, (_, i) => start(schema, i)));
    for (const worker of workers) children.push(worker.child);
    for (const worker of workers) worker.child.stdin?.write("go\n");
    const codes = await Promise.all(workers.map((worker) => worker.exited));
    for (const [i, [code]] of codes.entries()) expect(code, workers[i]?.errors()).toBe(0);

    const summaries = workers.map((worker) => JSON.parse(worker.output.at(-1) as string) as Summary);
    for (const summary of summaries) {
      expect(summary.bad).toEqual([]);
      expect(summary.reads).toBe(5 * 500); // every shared key found in every round
      expect(summary.ownFound).toBe(250);
    }
    // Each doomed entry was removed by exactly one process.
    expect(summaries.reduce((sum, summary) => sum + summary.removed, 0)).toBe(400);
    expect(await repo.count()).toBe(500 + WORKERS * 250);
    const shared = (await repo.getResponses(Array.from({ length: 500 }, (_, i) => ["GET", `shared-${i}`]))) as string[];
    expect(shared).toHaveLength(500);
    for (const [i, payload] of shared.entries()) expect(payload).toMatch(new RegExp(`^w[0-3] r4 shared-${i}$`));
    await seed.close();
  });
});
