/**
 * Command line: peak resident memory of `ls --json` and `export` over SQLite caches of 100,000 and
 * 1,000,000 entries, beside the floor measured in the same run (`stats` on the same file, which reads
 * no entry), and the time of `purge --expired` removing half of them in batches of 10,000 (one
 * indexed DELETE each). Set REQUESTFUL_BENCH_CLI_SIZES=100000 to run the smaller size only.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { type CacheEntry, SQLiteCache } from "../src/index.js";
import { keyOnlySettings } from "./util.js";

const CHILD = fileURLToPath(new URL("./cli-child.ts", import.meta.url));
const TSX = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/loader.mjs"),
).href;
const SIZES = (process.env.REQUESTFUL_BENCH_CLI_SIZES ?? "100000,1000000").split(",").map(Number);
const PAYLOAD = `{"name":"${"x".repeat(180)}"}`;

interface ChildFigures {
  code: number;
  lines: number;
  maxRss: number;
  seconds: number;
}

async function child(args: string[]): Promise<ChildFigures> {
  const { stderr } = await promisify(execFile)(process.execPath, ["--import", TSX, CHILD, ...args], {
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stderr.trim().split("\n").at(-1) as string) as ChildFigures;
}

async function fill(path: string, entries: number): Promise<void> {
  const cache = SQLiteCache.connect(path, { synchronous: "normal" });
  const tracks = cache.createRepository(keyOnlySettings());
  await cache.connect();
  const now = Date.now();
  for (let start = 0; start < entries; start += 10_000) {
    const batch: CacheEntry[] = [];
    for (let i = start; i < Math.min(entries, start + 10_000); i++) {
      batch.push({
        key: ["GET", String(i)],
        name: null,
        cachedAt: now - 3_600_000,
        expiresAt: i % 2 === 0 ? now - 1 : now + 86_400_000,
        payload: PAYLOAD,
        status: 200,
        headers: '[["content-type","application/json"]]',
        url: `https://api.example.com/v1/tracks/${i}`,
        meta: null,
      });
    }
    await tracks.saveEntries(batch);
  }
  await cache.close();
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0).padStart(5)} MiB`;

export async function run(): Promise<void> {
  console.log("\ncli (SQLite file; peak RSS of the whole process, floor: stats on the same file)");
  const folder = mkdtempSync(join(tmpdir(), "requestful-bench-cli-"));
  try {
    for (const size of SIZES) {
      const path = join(folder, `cache-${size}.sqlite`);
      await fill(path, size);
      const megabytes = (statSync(path).size / 1024 / 1024).toFixed(0);
      console.log(`  ${size.toLocaleString("en-US")} entries (${megabytes} MiB file)`);
      const floor = await child(["stats", "--cache", path]);
      console.log(`    stats (floor)     ${mib(floor.maxRss)}`);
      for (const args of [["ls", "--json"], ["export"]]) {
        const figures = await child([...args, "--cache", path]);
        const rate = Math.round(figures.lines / figures.seconds).toLocaleString("en-US");
        console.log(
          `    ${args.join(" ").padEnd(17)} ${mib(figures.maxRss)}  (+${mib(figures.maxRss - floor.maxRss).trim()} over the floor)  ` +
            `${figures.lines.toLocaleString("en-US")} lines in ${figures.seconds.toFixed(1)} s, ${rate} lines/s`,
        );
      }
      const purge = await child(["purge", "--expired", "--batch-size", "10000", "--json", "--cache", path]);
      const removed = size / 2;
      console.log(
        `    purge --expired   ${mib(purge.maxRss)}  ${removed.toLocaleString("en-US")} removed in ` +
          `${Math.ceil(removed / 10_000) + 1} indexed DELETEs, ${purge.seconds.toFixed(1)} s, ` +
          `${Math.round(removed / purge.seconds).toLocaleString("en-US")} entries/s`,
      );
      rmSync(path, { force: true });
      rmSync(`${path}-wal`, { force: true });
      rmSync(`${path}-shm`, { force: true });
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
