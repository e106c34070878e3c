/**
 * The administration API (records of repositories, filtered listings, purges, sizes, verification,
 * whole-entry writes, store checks), registered once for every backend beside the main suite.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  BytesPayloadHandler,
  type CacheEntry,
  CacheError,
  type CacheOptions,
  defineSettings,
  EXPORT_VERSION,
  exportCache,
  importCache,
  JSONPayloadHandler,
  MemoryCache,
  type Progress,
  RecordedSettings,
  type ResponseCache,
} from "../../src/index.js";
import type { ConformanceTarget } from "./suite.js";

const START = Date.UTC(2026, 0, 31, 12, 0, 0);
const HOUR = 3_600_000;
const API = "https://api.example.com";

const tracks = () =>
  defineSettings({
    name: "tracks",
    fields: ["id"],
    getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[3] : null],
    payloadHandler: new JSONPayloadHandler(),
  });

const blobs = () =>
  defineSettings({
    name: "blobs",
    fields: ["id", "part"],
    getKey: () => [null, null],
    payloadHandler: new BytesPayloadHandler(),
  });

function entry(id: string, cachedAt: number, expiresAt: number, payload: string | Uint8Array = `{"id":"${id}"}`) {
  return {
    key: ["GET", id],
    name: `track ${id}`,
    cachedAt,
    expiresAt,
    payload,
    status: 200,
    headers: JSON.stringify([["content-type", "application/json"]]),
    url: `${API}/v1/tracks/${id}`,
    meta: null,
  } as CacheEntry;
}

export function describeAdminConformance(target: ConformanceTarget): void {
  const suite = target.skip ? describe.skip : describe;

  suite(`administration: ${target.name}`, () => {
    let clock = START;
    const now = () => clock;
    const opened: ResponseCache[] = [];

    async function open(setUp?: (cache: ResponseCache) => void, options: CacheOptions = {}) {
      const cache = await target.makeCache({ now, ...options });
      opened.push(cache);
      setUp?.(cache);
      await cache.connect();
      return cache;
    }

    /** A tracks repository with 3 live entries (a, b, c) and 2 expired ones (x, y), cached an hour apart. */
    async function filled() {
      let repo: AnyRepository | undefined;
      const cache = await open((c) => {
        repo = c.createRepository(tracks(), { expire: 10 * HOUR });
      });
      const repository = repo as AnyRepository;
      await repository.saveEntries([
        entry("a", START - 3 * HOUR, START + HOUR),
        entry("b", START - 2 * HOUR, START + HOUR),
        entry("c", START - HOUR, START + HOUR),
        entry("x", START - 5 * HOUR, START - HOUR),
        entry("y", START - 4 * HOUR, START),
      ]);
      return { cache, repo: repository };
    }

    const ids = async (entries: AsyncIterable<CacheEntry>) => {
      const found: string[] = [];
      for await (const e of entries) found.push(String(e.key[1]));
      return found.sort();
    };

    beforeEach(() => {
      clock = START;
    });

    afterEach(async () => {
      for (const cache of opened.splice(0)) await cache.close();
      await target.cleanup?.();
    });

    it("records each repository in the store: name, fields, payload kind and expiry", async () => {
      const cache = await open((c) => {
        c.createRepository(tracks(), { expire: { days: 2 } });
        c.createRepository(blobs());
      });
      const records = await cache.repositoryRecords();
      expect(records.map((r) => [r.name, r.fields, r.payload, r.handler, r.expire])).toEqual([
        ["blobs", ["id", "part"], "bytes", "BytesPayloadHandler", { weeks: 1 }],
        ["tracks", ["id"], "json", "JSONPayloadHandler", { days: 2 }],
      ]);
    });

    it("opens the repositories a store records, without their settings", async () => {
      const { cache, repo } = await filled();
      const reader = target.persistent ? await open() : cache;
      const repositories = await reader.openRecordedRepositories();
      const opened = repositories.find((r) => r.name === "tracks") as AnyRepository;
      expect(opened.settings.fields).toEqual(["id"]);
      expect(opened.expire).toBe(10 * HOUR);
      expect(await opened.getResponse(["GET", "a"])).toEqual({ id: "a" });
      expect(await opened.count()).toBe(await repo.count());
      if (opened.settings instanceof RecordedSettings) {
        expect(() => opened.getKeyFromRequest(new Request(`${API}/v1/tracks/a`))).toThrow(/opened from its record/);
      }
    });

    it("writes whole entries as given with saveEntries, and checks their keys", async () => {
      let repo: AnyRepository | undefined;
      await open((c) => {
        repo = c.createRepository(blobs());
      });
      const r = repo as AnyRepository;
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      const given: CacheEntry = {
        key: ["GET", "k", 7],
        name: null,
        cachedAt: START - 1_234,
        expiresAt: START - 1,
        payload: bytes,
        status: 206,
        headers: JSON.stringify([["x-a", "1"]]),
        url: "https://example.com/a?b=1",
        meta: null,
      };
      expect(await r.saveEntries([given])).toBe(1);
      const back = await r.getEntry(["GET", "k", 7], { includeExpired: true });
      expect(back).toEqual({ ...given, payload: bytes });
      await expect(r.saveEntries([{ ...given, key: ["GET", "k"] }])).rejects.toThrow(CacheError);
      await expect(r.saveEntries([{ ...given, cachedAt: Number.NaN }])).rejects.toThrow(RangeError);
      await expect(r.saveEntries([{ ...given, headers: "[1" }])).rejects.toThrow(/headers must be JSON text/);
    });

    it("lists entries by state, URL glob, age and limit", async () => {
      const { repo } = await filled();
      expect(await ids(repo.list())).toEqual(["a", "b", "c", "x", "y"]);
      expect(await ids(repo.list({ state: "live" }))).toEqual(["a", "b", "c"]);
      expect(await ids(repo.list({ state: "expired" }))).toEqual(["x", "y"]);
      expect(await ids(repo.list({ match: `${API}/v1/tracks/?` }))).toEqual(["a", "b", "c", "x", "y"]);
      expect(await ids(repo.list({ match: "*/tracks/[ab]" }))).toEqual([]);
      expect(await ids(repo.list({ match: "*/a" }))).toEqual(["a"]);
      expect(await ids(repo.list({ cachedBefore: START - 2 * HOUR }))).toEqual(["a", "x", "y"]);
      expect(await ids(repo.list({ state: "live", cachedBefore: START - 2 * HOUR }))).toEqual(["a"]);
      expect((await ids(repo.list({ limit: 2 }))).length).toBe(2);
      expect(await repo.countWhere({ state: "expired" })).toBe(2);
      expect(await repo.countWhere({ match: "*/[ab]" })).toBe(0);
      expect(await repo.countWhere({ match: "*/a" })).toBe(1);
      expect(await repo.countWhere()).toBe(5);
      await expect(repo.countWhere({ state: "old" as "live" })).rejects.toThrow(RangeError);
    });

    it("treats glob characters of every query language literally", async () => {
      let repo: AnyRepository | undefined;
      await open((c) => {
        repo = c.createRepository(tracks());
      });
      const r = repo as AnyRepository;
      const odd = { ...entry("odd", START, START + HOUR), url: `${API}/100%_[x]\\y` };
      await r.saveEntries([odd, { ...entry("plain", START, START + HOUR), url: `${API}/100ab[x]\\y` }]);
      expect(await ids(r.list({ match: `${API}/100%_[x]\\y` }))).toEqual(["odd"]);
      expect(await r.countWhere({ match: `${API}/100%_[x]\\y` })).toBe(1);
      expect(await r.countWhere({ match: `${API}/100??[x]\\y` })).toBe(2);
      expect(await r.purge({ match: `${API}/100%_*` })).toBe(1);
      expect(await ids(r.list())).toEqual(["plain"]);
    });

    it("purges expired entries only, in batches, telling its progress", async () => {
      const { repo } = await filled();
      const progress: Progress[] = [];
      expect(await repo.purge({ state: "expired" }, { batchSize: 1, onProgress: (p) => progress.push(p) })).toBe(2);
      expect(progress.at(-1)).toEqual({ done: 2, total: 2 });
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(await ids(repo.list())).toEqual(["a", "b", "c"]);
    });

    it("purges by glob, by age and everything", async () => {
      const { repo } = await filled();
      expect(await repo.purge({ match: "*/b" })).toBe(1);
      expect(await repo.purge({ cachedBefore: START - 4 * HOUR })).toBe(1); // x
      expect(await ids(repo.list())).toEqual(["a", "c", "y"]);
      expect(await repo.purge({}, { batchSize: 2 })).toBe(3);
      expect(await repo.count()).toBe(0);
    });

    it("stops a purge between batches when its signal is aborted", async () => {
      const { repo } = await filled();
      const controller = new AbortController();
      const removed = await repo.purge(
        {},
        { batchSize: 2, signal: controller.signal, onProgress: () => controller.abort() },
      );
      expect(removed).toBe(2);
      expect(await repo.count()).toBe(3);
    });

    it("measures entries, payload bytes and instants", async () => {
      const { repo } = await filled();
      await repo.saveEntries([entry("é", START - 6 * HOUR, START + HOUR, '"héllo"')]);
      const stats = await repo.stats();
      expect(stats).toEqual({
        entries: 6,
        live: 4,
        expired: 2,
        payloadBytes: 5 * '{"id":"a"}'.length + 8,
        oldest: START - 6 * HOUR,
        newest: START - HOUR,
      });
    });

    it("verifies every payload through its handler, and fix removes the broken", async () => {
      const { repo } = await filled();
      expect((await repo.verify()).broken).toEqual([]);
      await repo.saveEntries([entry("bad", START, START + HOUR, "{not json")]);
      const report = await repo.verify();
      expect(report.checked).toBe(6);
      expect(report.broken.map((b) => [b.key, b.url, b.reason.split(":")[0]])).toEqual([
        [["GET", "bad"], `${API}/v1/tracks/bad`, "payload"],
      ]);
      expect(report.removed).toBe(0);
      const fixed = await repo.verify({ fix: true });
      expect(fixed.removed).toBe(1);
      expect(await repo.count()).toBe(5);
      expect((await repo.verify()).broken).toEqual([]);
    });

    const collect = async (lines: AsyncIterable<string>) => {
      const all: string[] = [];
      for await (const text of lines) all.push(text);
      return all;
    };
    // Entries come in scan order, which differs between backends.
    const withoutHeader = (lines: string[]) => lines.slice(1).sort();

    it("exports and imports every entry, byte and instant, in both directions", async () => {
      const source = await new MemoryCache({ now }).connect();
      opened.push(source);
      const t = source.createRepository(tracks(), { expire: 10 * HOUR });
      const b = source.createRepository(blobs());
      await t.saveEntries([entry("a", START - HOUR, START + 0.5), entry("x", START - 2 * HOUR, START - HOUR)]);
      await b.saveEntries([
        { ...entry("bin", START, START + HOUR), key: ["GET", "bin", 2], payload: new Uint8Array([0, 255, 10, 13]) },
      ]);
      const exported = await collect(exportCache(source));
      expect(JSON.parse(exported[0] as string)).toMatchObject({ format: "requestful-export", version: 1, entries: 3 });

      const target = await open();
      const report = await importCache(target, exported);
      expect(report).toEqual({ repositories: ["tracks", "blobs"], entries: 3, aborted: false });
      expect((await target.repositoryRecords()).map((r) => r.name)).toEqual(["blobs", "tracks"]);
      const again = await collect(exportCache(target, { repositories: ["tracks", "blobs"] }));
      expect(withoutHeader(again)).toEqual(withoutHeader(exported));

      const back = await new MemoryCache({ now }).connect();
      opened.push(back);
      await importCache(back, again);
      expect(withoutHeader(await collect(exportCache(back)))).toEqual(withoutHeader(exported));
    });

    it("refuses an export of a newer format, a broken line and a file cut short", async () => {
      const target = await open();
      const header = (version: number) => JSON.stringify({ format: "requestful-export", version, entries: 0 });
      await expect(importCache(target, [header(EXPORT_VERSION + 1)])).rejects.toThrow(
        /format version 2, newer than this release of requestful reads \(1\); upgrade requestful/,
      );
      await expect(importCache(target, ["{}"])).rejects.toThrow(/not the start of a requestful export/);
      const record = { type: "repository", name: "tracks", fields: ["id"], payload: "json", expire: HOUR };
      const one = JSON.stringify({
        type: "entry",
        repository: "tracks",
        ...entry("a", START, START + HOUR),
        text: "1",
      });
      await expect(importCache(target, [header(1), JSON.stringify(record), "{nope"])).rejects.toThrow(
        /line 3 of the export is not JSON/,
      );
      await expect(importCache(target, [header(1), JSON.stringify(record), one])).rejects.toThrow(/cut short/);
      expect(await target.get("tracks")?.count()).toBe(1);
    });

    it("checks the store's integrity, tells its size and compacts it", async () => {
      const { cache, repo } = await filled();
      expect(await cache.checkIntegrity()).toEqual([]);
      const size = await cache.storeSize();
      if (size !== null) expect(size.bytes).toBeGreaterThan(0);
      await repo.purge({ state: "expired" });
      const { before, after } = await cache.compact();
      expect(before === null).toBe(after === null);
      expect(await repo.count()).toBe(3);
    });
  });
}
