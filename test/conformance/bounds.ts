/**
 * Bounds of a persistent cache, for every backend that has them: least-recently-used eviction by
 * `maxEntries` and `maxBytes`, entries too large for the whole bound, removal of entries past their
 * retention without `clear`, exact usage, and four processes writing at once within the documented
 * slack. A backend's test file calls `describeBoundsConformance`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  type CacheEntry,
  type CacheOptions,
  defineSettings,
  entrySize,
  type Key,
  ResponseCache,
  type StoreUsage,
} from "../../src/index.js";
import { startWorker } from "../helpers/worker.js";
import {
  BOUND_WORKERS,
  boundSettings,
  MAX_BYTES,
  MAX_ENTRIES,
  META,
  wholeEntry as makeWholeEntry,
} from "./bounds-plan.js";

/** A cache with bounds, and what it holds as counted against them. */
type BoundedCache = ResponseCache & { usage(): Promise<StoreUsage> };

export interface BoundsTarget {
  name: string;
  skip?: string | undefined;
  /** Makes a new, unconnected cache, isolated from every other. */
  makeCache(options: CacheOptions & Record<string, unknown>): Promise<ResponseCache>;
  /** Where the four-process test and its workers open one shared cache. */
  location(): Promise<{ value: string; options: Record<string, unknown> }>;
  cleanup?(): Promise<void>;
  /** How far over each bound the store may be at any moment, under concurrent writers. */
  slack: { entries: number; bytes: number };
  /** Whether the bounds hold for each repository apart (Redis) rather than for the whole cache. */
  perRepository?: boolean;
  /** Set when the store's clock, not the cache's, decides retention (Redis): the retention test is skipped. */
  retentionByServerClock?: boolean;
  /** The bytes an entry counts for, when not {@link entrySize}. */
  sizeOf?: (entry: CacheEntry) => number;
}

const START = Date.UTC(2026, 0, 31, 12, 0, 0);
const settings = () => defineSettings({ name: "pages", fields: ["id"], getKey: () => [null] });
const key = (id: string): Key => ["GET", id];

async function actualUsage(repos: AnyRepository[], sizeOf = entrySize): Promise<StoreUsage> {
  let entries = 0;
  let bytes = 0;
  for (const repo of repos) {
    for await (const entry of repo.entries()) {
      entries++;
      bytes += sizeOf(entry);
    }
  }
  return { entries, bytes };
}

export function describeBoundsConformance(target: BoundsTarget): void {
  if (target.skip) console.warn(`[bounds] skipping ${target.name}: ${target.skip}`);

  describe.skipIf(Boolean(target.skip))(`bounds: ${target.name}`, () => {
    let clock = START;
    const now = () => clock;
    const open: ResponseCache[] = [];

    async function bounded(options: Record<string, unknown>): Promise<[BoundedCache, AnyRepository]> {
      clock = START;
      const cache = (await target.makeCache({ now, ...options })) as BoundedCache;
      open.push(cache);
      const repo = cache.createRepository(settings()) as AnyRepository;
      await cache.connect();
      return [cache, repo];
    }

    /** Saves one entry per id, each a millisecond after the one before. */
    async function saveInTurn(repo: AnyRepository, ids: string[], payload = "p"): Promise<void> {
      for (const id of ids) {
        clock++;
        await repo.saveResponse([key(id), payload]);
      }
    }

    afterEach(async () => {
      for (const cache of open.splice(0)) await cache.close();
      await target.cleanup?.();
    });

    it("evicts the least recently used entry first, a read counting as a use", async () => {
      const [, repo] = await bounded({ maxEntries: 3 });
      await saveInTurn(repo, ["a", "b", "c"]);
      clock++;
      expect(await repo.getResponse(key("a"))).toBe("p");
      await saveInTurn(repo, ["d"]);
      expect(await repo.contains(key("b"))).toBe(false);
      for (const id of ["a", "c", "d"]) expect(await repo.contains(key(id)), id).toBe(true);
      clock++;
      await repo.getEntries([key("c")]);
      await saveInTurn(repo, ["e", "f"]);
      expect((await repo.getEntries(["a", "c", "d", "e", "f"].map(key))).map((entry) => entry !== undefined)).toEqual([
        false,
        true,
        false,
        true,
        true,
      ]);
      expect(await repo.count()).toBe(3);
    });

    it("evicts in the order of writing when access tracking is off", async () => {
      const [, repo] = await bounded({ maxEntries: 3, trackAccess: false });
      await saveInTurn(repo, ["a", "b", "c"]);
      clock++;
      await repo.getResponse(key("a"));
      await saveInTurn(repo, ["d"]);
      expect(await repo.contains(key("a"))).toBe(false);
      expect(await repo.contains(key("b"))).toBe(true);
    });

    it.skipIf(target.perRepository === true)("holds the bound across the repositories of the cache", async () => {
      const [cache, pages] = await bounded({ maxEntries: 4 });
      const other = cache.createRepository(defineSettings({ name: "others", fields: ["id"], getKey: () => [null] }));
      await other.create();
      await saveInTurn(pages, ["a", "b", "c"]);
      clock++;
      await other.saveResponses([
        [key("x"), "1"],
        [key("y"), "2"],
      ]);
      expect(await pages.contains(key("a"))).toBe(false);
      expect((await pages.count()) + (await other.count())).toBe(4);
      expect(await cache.usage()).toMatchObject({ entries: 4 });
    });

    it("keeps the bytes within maxBytes, counting as entrySize does", async () => {
      const [cache, repo] = await bounded({ maxBytes: 5_000 });
      for (let i = 0; i < 20; i++) {
        clock++;
        await repo.saveResponse([key(`k${i}`), "é".repeat(400 + i * 10)]);
        const usage = await cache.usage();
        expect(usage.bytes).toBeLessThanOrEqual(5_000);
        expect(usage).toEqual(await actualUsage([repo], target.sizeOf));
      }
      expect(await repo.contains(key("k19"))).toBe(true);
      expect(await repo.contains(key("k0"))).toBe(false);
    });

    it("does not store an entry larger than the whole bound, and evicts nothing for it", async () => {
      const [cache, repo] = await bounded({ maxBytes: 2_200 });
      await saveInTurn(repo, ["a", "b"], "small");
      const before = await cache.usage();
      clock++;
      await repo.saveResponse([key("huge"), "x".repeat(2_200)]);
      expect(await repo.contains(key("huge"))).toBe(false);
      expect(await repo.count()).toBe(2);
      expect(await cache.usage()).toEqual(before);
    });

    const wholeEntry = (id: string, meta: string | null) => makeWholeEntry(id, meta, START);

    it("counts an entry's HTTP metadata, headers and URL in its size", async () => {
      const [cache, repo] = await bounded({ maxBytes: 100_000 });
      await repo.saveEntries([wholeEntry("a", null), wholeEntry("b", null)]);
      const without = await cache.usage();
      expect(without).toEqual(await actualUsage([repo], target.sizeOf));
      await repo.saveEntries([wholeEntry("a", META)]);
      const withMeta = await cache.usage();
      expect(withMeta).toEqual(await actualUsage([repo], target.sizeOf));
      expect(withMeta.bytes - without.bytes).toBeGreaterThanOrEqual(Buffer.byteLength(META));
    });

    it("does not store an entry that its metadata takes over maxBytes", async () => {
      const size = target.sizeOf ?? entrySize;
      const [cache, repo] = await bounded({ maxBytes: size(wholeEntry("c", null)) + 10 });
      await repo.saveEntries([wholeEntry("c", META)]);
      expect(await repo.contains(key("c"))).toBe(false);
      expect(await cache.usage()).toEqual({ entries: 0, bytes: 0 });
      await repo.saveEntries([wholeEntry("c", null)]);
      expect(await repo.contains(key("c"))).toBe(true);
    });

    it("counts overwrites, deletes and clears exactly", async () => {
      const [cache, repo] = await bounded({ maxEntries: 50, maxBytes: 1_000_000 });
      await repo.saveResponses(Array.from({ length: 30 }, (_, i) => [key(`k${i}`), "a".repeat(i * 13)] as const));
      await repo.saveResponses(Array.from({ length: 20 }, (_, i) => [key(`k${i * 2}`), "b".repeat(i * 29)] as const));
      await repo.deleteResponses([key("k1"), key("k3"), key("missing")]);
      expect(await cache.usage()).toEqual(await actualUsage([repo], target.sizeOf));
      await repo.clear();
      expect(await cache.usage()).toEqual({ entries: 0, bytes: 0 });
    });

    it.skipIf(target.retentionByServerClock === true)(
      "removes entries past their retention during writes, without clear",
      async () => {
        const [, repo] = await bounded({ expire: 60_000, retention: 60_000 });
        await repo.saveResponses(Array.from({ length: 300 }, (_, i) => [key(`old${i}`), "p"] as const));
        clock += 90_000; // expired, within retention: kept for revalidation
        await saveInTurn(repo, ["mid"]);
        expect(await repo.count(true)).toBe(301);
        clock += 60_000; // past retention for the old ones; "mid" expired but is still within retention
        let written = 0;
        while (written < 4 && (await repo.count(true)) > 1 + written) {
          clock += 2_000;
          await saveInTurn(repo, [`new${written++}`]);
        }
        // The old ones went in batches, one batch per write: "mid" and the new ones are left.
        expect(written).toBeGreaterThan(0);
        expect(await repo.count(true)).toBe(1 + written);
        expect(await repo.count(false)).toBe(written);
      },
    );

    it(`stays within the bounds while ${BOUND_WORKERS} processes write at once`, { timeout: 120_000 }, async () => {
      const given = await target.location();
      const location = {
        value: given.value,
        options: { ...given.options, maxEntries: MAX_ENTRIES, maxBytes: MAX_BYTES },
      };
      const cache = (await ResponseCache.create(location.value, location.options as CacheOptions)) as BoundedCache;
      open.push(cache);
      const repo = cache.createRepository(boundSettings()) as AnyRepository;
      await cache.connect();
      const startAt = Date.now() + 4_000;
      const workers = Array.from(
        { length: BOUND_WORKERS },
        (_, worker) =>
          startWorker("bounds-worker.ts", [JSON.stringify(location), String(worker), String(startAt)]).done,
      );
      let done = false;
      const all = Promise.all(workers).finally(() => {
        done = true;
      });
      let samples = 0;
      let most: StoreUsage = { entries: 0, bytes: 0 };
      while (!done) {
        const usage = await cache.usage();
        const counted = await repo.count(true);
        if (Date.now() > startAt) samples++;
        most = { entries: Math.max(most.entries, usage.entries, counted), bytes: Math.max(most.bytes, usage.bytes) };
        await sleep(5);
      }
      const results = await all;
      for (const [worker, result] of results.entries()) {
        expect(result.stderr, `worker ${worker}`).toBe("");
        expect(result.code, `worker ${worker}: ${result.stdout}`).toBe(0);
      }
      expect(samples).toBeGreaterThan(5);
      expect(most.entries).toBeLessThanOrEqual(MAX_ENTRIES + target.slack.entries);
      expect(most.bytes).toBeLessThanOrEqual(MAX_BYTES + target.slack.bytes);
      const usage = await cache.usage();
      expect(usage.entries).toBeLessThanOrEqual(MAX_ENTRIES);
      expect(usage.bytes).toBeLessThanOrEqual(MAX_BYTES);
      expect(usage).toEqual(await actualUsage([repo], target.sizeOf));
    });
  });
}
