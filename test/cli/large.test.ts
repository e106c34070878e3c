import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CacheEntry, SQLiteCache } from "../../src/index.js";
import { tempFolder } from "../helpers/temp.js";
import { addRepositories, childEnv, HOUR, TSX } from "./cli.js";

const ENTRIES = 100_000;
const PAYLOAD = "x".repeat(1_000);
const MEASURED = fileURLToPath(new URL("./fixtures/measured.ts", import.meta.url));

const folder = tempFolder("requestful-cli-large-");
afterAll(() => folder.remove());

/** Runs the command line in a child that counts its output lines and reports its peak memory. */
async function measured(args: string[]): Promise<{ code: number; lines: number; maxRss: number }> {
  const { stderr } = await promisify(execFile)(process.execPath, ["--import", TSX, MEASURED, ...args], {
    env: childEnv(),
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stderr.trim().split("\n").at(-1) as string);
}

let store: string;
beforeAll(async () => {
  store = join(folder.path, "large.sqlite");
  const cache = SQLiteCache.connect(store, { synchronous: "normal" });
  const { tracks } = addRepositories(cache);
  await cache.connect();
  const now = Date.now();
  for (let start = 0; start < ENTRIES; start += 10_000) {
    const batch: CacheEntry[] = [];
    for (let i = start; i < start + 10_000; i++) {
      batch.push({
        key: ["GET", String(i)],
        name: null,
        cachedAt: now - HOUR,
        expiresAt: i % 2 === 0 ? now - 1 : now + HOUR,
        payload: `"${PAYLOAD}${i}"`,
        status: 200,
        headers: null,
        url: `https://api.example.com/v1/tracks/${i}`,
        meta: null,
      });
    }
    await tracks.saveEntries(batch);
  }
  await cache.close();
}, 120_000);

describe(`a cache of ${ENTRIES.toLocaleString("en-US")} entries`, { timeout: 300_000 }, () => {
  it("is listed and purged in bounded memory", async () => {
    // The payloads alone are 100 MB: a listing that held them would grow by more than that.
    const baseline = await measured(["stats", "--cache", store]);
    expect(baseline.code).toBe(0);
    const listed = await measured(["ls", "--json", "--cache", store]);
    expect(listed).toMatchObject({ code: 0, lines: ENTRIES });
    expect(listed.maxRss - baseline.maxRss).toBeLessThan(64 * 1024 * 1024);
    const table = await measured(["ls", "--cache", store]);
    expect(table).toMatchObject({ code: 0, lines: ENTRIES + 1 });
    expect(table.maxRss - baseline.maxRss).toBeLessThan(64 * 1024 * 1024);
    const exported = await measured(["export", "--cache", store]);
    expect(exported.lines).toBe(ENTRIES + 5); // a header, three repository records and a closing line
    expect(exported.maxRss - baseline.maxRss).toBeLessThan(64 * 1024 * 1024);

    const expired = await measured(["purge", "--expired", "--cache", store]);
    expect(expired.code).toBe(0);
    const all = await measured(["purge", "--all", "--yes", "--cache", store]);
    expect(all.code).toBe(0);
    expect(Math.max(expired.maxRss, all.maxRss) - baseline.maxRss).toBeLessThan(64 * 1024 * 1024);
    const left = await measured(["ls", "--json", "--cache", store]);
    expect(left.lines).toBe(0);
  });
});
