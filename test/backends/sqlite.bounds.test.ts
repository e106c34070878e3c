/** Bounds of the SQLite backend: the conformance suite, then what only a file has (WAL, vacuum, a full disk). */
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CacheError, defineSettings, type Key, SQLiteCache } from "../../src/index.js";
import { describeBoundsConformance } from "../conformance/bounds.js";
import { tempFolder } from "../helpers/temp.js";

let folder = tempFolder();

describeBoundsConformance({
  name: "sqlite (file)",
  makeCache: async (options) => SQLiteCache.connectWithPath(join(folder.path, `bounds-${Math.random()}`), options),
  location: async () => ({ value: join(folder.path, "shared-bounds.sqlite"), options: {} }),
  cleanup: async () => {
    folder.remove();
    folder = tempFolder();
  },
  // One writer at a time, and eviction in the writer's own transaction: never over.
  slack: { entries: 0, bytes: 0 },
});

const settings = () => defineSettings({ name: "pages", fields: ["id"], getKey: () => [null] });
const key = (id: string): Key => ["GET", id];

describe("SQLite: the file stays small", () => {
  it("keeps the WAL bounded over 50,000 writes", { timeout: 120_000 }, async () => {
    const dir = tempFolder();
    const path = join(dir.path, "wal.sqlite");
    const cache = new SQLiteCache(path, { maxEntries: 5_000, synchronous: "normal" });
    const repo = cache.createRepository(settings());
    await cache.connect();
    try {
      let most = 0;
      for (let i = 0; i < 50_000; i++) {
        await repo.saveResponse([key(`k${i}`), `payload ${i} `.padEnd(200, "x")]);
        if (i % 1_000 === 0) most = Math.max(most, statSync(`${path}-wal`).size);
      }
      most = Math.max(most, statSync(`${path}-wal`).size);
      // SQLite checkpoints every 1,000 pages; the file is cut back to 8 MiB after a checkpoint.
      expect(most).toBeLessThanOrEqual(12 * 1024 * 1024);
      expect(await repo.count()).toBe(5_000);
    } finally {
      await cache.close();
      dir.remove();
    }
  });

  it("gives pages back to the file system after eviction", { timeout: 60_000 }, async () => {
    const dir = tempFolder();
    const path = join(dir.path, "shrink.sqlite");
    const cache = new SQLiteCache(path, { maxBytes: 50 * 1024 * 1024 });
    const repo = cache.createRepository(settings());
    await cache.connect();
    try {
      expect(cache.connection.pragma("auto_vacuum", { simple: true })).toBe(2); // incremental
      await repo.saveResponses(Array.from({ length: 2_000 }, (_, i) => [key(`big${i}`), "x".repeat(10_000)] as const));
      cache.connection.pragma("wal_checkpoint(TRUNCATE)");
      const full = statSync(path).size;
      await repo.deleteResponses(Array.from({ length: 1_990 }, (_, i) => key(`big${i}`)));
      for (let i = 0; i < 10; i++) await repo.saveResponse([key(`small${i}`), "s"]);
      cache.connection.pragma("wal_checkpoint(TRUNCATE)");
      expect(statSync(path).size).toBeLessThan(full / 2);
    } finally {
      await cache.close();
      dir.remove();
    }
  });

  it("fails writes with a CacheError when the disk is full, goes on reading, and writes again after a purge", async () => {
    const dir = tempFolder();
    const cache = new SQLiteCache(join(dir.path, "full.sqlite"), { maxEntries: 100_000 });
    const repo = cache.createRepository(settings());
    await cache.connect();
    try {
      await repo.saveResponse([key("first"), "kept"]);
      const pages = cache.connection.pragma("page_count", { simple: true }) as number;
      cache.connection.pragma(`max_page_count = ${pages + 40}`);
      let failure: unknown;
      for (let i = 0; i < 1_000 && failure === undefined; i++) {
        try {
          await repo.saveResponse([key(`fill${i}`), "y".repeat(4_000)]);
        } catch (error) {
          failure = error;
        }
      }
      expect(failure).toBeInstanceOf(CacheError);
      expect((failure as Error).message).toMatch(/full/i);
      expect(await repo.getResponse(key("first"))).toBe("kept");
      expect(await repo.getResponse(key("fill0"))).toBe("y".repeat(4_000));
      await repo.clear();
      await repo.saveResponse([key("after"), "written"]);
      expect(await repo.getResponse(key("after"))).toBe("written");
      expect(await cache.usage()).toMatchObject({ entries: 1 });
    } finally {
      await cache.close();
      dir.remove();
    }
  });
});
