/**
 * The behaviour of the repository and cache API, registered once for every backend. A backend's
 * test file calls `describeConformance` with a factory of isolated caches; a backend is done when it
 * passes this suite unchanged.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  BytesPayloadHandler,
  type CacheEntry,
  CacheError,
  type CacheOptions,
  defineSettings,
  JSONPayloadHandler,
  type JSONValue,
  type Key,
  type KeyRequest,
  MAX_EXPIRE,
  PayloadHandlerError,
  type ResponseCache,
  ResponseRepositorySettings,
  repositoryByPathSegment,
  StringPayloadHandler,
} from "../../src/index.js";

export interface ConformanceTarget {
  /** The backend's name, for the test titles. */
  name: string;
  /** Makes a new, unconnected cache, isolated from every other cache the factory made. */
  makeCache(options: CacheOptions): Promise<ResponseCache>;
  /** Removes what the test left behind (files, key prefixes, schemas). */
  cleanup?(): Promise<void>;
  /** Whether entries outlive the cache object: a new cache on the same store sees them. */
  persistent: boolean;
  /** Set to a reason to skip the suite (a service that is not running), shown in the output. */
  skip?: string | undefined;
}

const START = Date.UTC(2026, 0, 31, 12, 0, 0);
const API = "https://api.example.com";

/** Keyed by id and version, from URLs like /v1/tracks/ID; only GET is cached. */
class TrackSettings extends ResponseRepositorySettings<JSONValue> {
  readonly fields = ["id", "version"] as const;

  getKey({ method, url }: KeyRequest) {
    if (method !== "GET") return [null, null];
    const [version, , id] = url.pathname.split("/").slice(1);
    return [id, version];
  }

  override getName(payload: JSONValue) {
    return (payload as { name?: string } | null)?.name;
  }
}

function tracks(name = "tracks") {
  return new TrackSettings({ name, payloadHandler: new JSONPayloadHandler() });
}

function trackRequest(id: string, method = "GET") {
  return new Request(`${API}/v1/tracks/${encodeURIComponent(id)}`, { method });
}

/** A whole entry of track `id` (version v1) as `saveEntries` takes it, live from before START to after it. */
function trackEntry(id: string, fields: Partial<CacheEntry> = {}): CacheEntry {
  return {
    key: ["GET", id, "v1"],
    name: id.toUpperCase(),
    cachedAt: START - 100,
    expiresAt: START + 100,
    payload: `{"name":"${id.toUpperCase()}"}`,
    status: 200,
    headers: '[["etag","\\"2\\""]]',
    url: `${API}/v1/tracks/${id}`,
    meta: '{"v":1}',
    ...fields,
  };
}

function jsonResponse(body: unknown, init: ResponseInit = {}) {
  return new Response(JSON.stringify(body), {
    status: 200,
    ...init,
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) },
  });
}

export function describeConformance(target: ConformanceTarget): void {
  const suite = target.skip ? describe.skip : describe;
  if (target.skip) {
    // Visible in the output, so that a green run does not hide what it did not test.
    console.warn(`[conformance] skipping ${target.name}: ${target.skip}`);
  }

  suite(`conformance: ${target.name}`, () => {
    let clock = START;
    const now = () => clock;
    const opened: ResponseCache[] = [];

    async function open(options: CacheOptions = {}, setUp?: (cache: ResponseCache) => void) {
      const cache = await target.makeCache({ now, repositoryGetter: repositoryByPathSegment(1), ...options });
      opened.push(cache);
      setUp?.(cache);
      await cache.connect();
      return cache;
    }

    async function openTracks(options: CacheOptions = {}) {
      let repository: AnyRepository | undefined;
      const cache = await open(options, (c) => {
        repository = c.createRepository(tracks());
      });
      return { cache, repo: repository as AnyRepository };
    }

    beforeEach(() => {
      clock = START;
    });

    afterEach(async () => {
      for (const cache of opened.splice(0)) await cache.close();
      await target.cleanup?.();
    });

    describe("single entries", () => {
      it("saves a [key, payload] pair and reads it back by key and by request", async () => {
        const { repo } = await openTracks();
        const key = ["GET", "6fWoFduMpBem73DMLCOh1Z", "v1"] as const;
        expect(await repo.saveResponse([key, { name: "super cool song" }])).toBe(true);
        expect(await repo.getResponse(key)).toEqual({ name: "super cool song" });
        expect(await repo.getResponse(trackRequest("6fWoFduMpBem73DMLCOh1Z"))).toEqual({ name: "super cool song" });
        expect(repo.getKeyFromRequest(trackRequest("6fWoFduMpBem73DMLCOh1Z"))).toEqual(key);
        expect(await repo.count(true)).toBe(1);
        expect(await repo.count(false)).toBe(1);
        expect(await repo.contains(key)).toBe(true);
        expect(await repo.contains(["GET", "other", "v1"])).toBe(false);
      });

      it("saves a request and its response with the origin's status, headers and URL", async () => {
        const { repo } = await openTracks();
        const request = trackRequest("abc");
        const response = jsonResponse({ name: "Song", id: "abc" }, { status: 203, headers: { etag: '"v1"' } });
        expect(await repo.saveResponse({ request, response })).toBe(true);
        const entry = await repo.getEntry(request);
        expect(entry).toBeDefined();
        expect(entry?.status).toBe(203);
        expect(new Headers(JSON.parse(entry?.headers ?? "[]")).get("etag")).toBe('"v1"');
        expect(new Headers(JSON.parse(entry?.headers ?? "[]")).get("content-type")).toBe("application/json");
        expect(entry?.url).toBe(`${API}/v1/tracks/abc`);
        expect(entry?.name).toBe("Song");
        expect(entry?.payload).toBe('{"name":"Song","id":"abc"}');
        expect(entry?.cachedAt).toBe(START);
        expect(await repo.getResponse(request)).toEqual({ name: "Song", id: "abc" });
      });

      it("stores nothing for a request whose key has a missing part", async () => {
        const { repo } = await openTracks();
        const post = trackRequest("abc", "POST");
        expect(repo.getKeyFromRequest(post)).toBeUndefined();
        expect(await repo.saveResponse({ request: post, response: jsonResponse({}) })).toBe(false);
        expect(await repo.saveResponse([post, { name: "x" }])).toBe(false);
        expect(await repo.getResponse(post)).toBeUndefined();
        expect(await repo.contains(post)).toBe(false);
        expect(await repo.count()).toBe(0);
      });

      it("refuses a Response without its request, and a key of the wrong shape", async () => {
        const { repo } = await openTracks();
        await expect(repo.saveResponse(jsonResponse({}) as never)).rejects.toThrow(/needs the request/);
        await expect(repo.getResponse(["GET", "only-id"])).rejects.toThrow(CacheError);
        await expect(repo.getResponse(["GET", "id", { v: 1 }] as never)).rejects.toThrow(/string or a finite number/);
        await expect(repo.saveResponse([["GET", "a", "v1"], { name: "x" }, 3] as never)).rejects.toThrow(TypeError);
        expect(await repo.count()).toBe(0);
      });

      it("takes a frozen key it has checked without checking it again, and refuses a frozen key of the wrong shape every time", async () => {
        const { cache, repo } = await openTracks();
        const key = Object.freeze(["GET", "frozen", "v1"] as const);
        await repo.saveResponse([key, { name: "cold" }]);
        expect(await repo.getResponse(key)).toEqual({ name: "cold" });
        expect(await repo.getPayloadEntry(key)).toMatchObject({ payload: expect.stringContaining("cold") });
        const short = Object.freeze(["GET", "short"] as const);
        for (let i = 0; i < 2; i++) await expect(repo.getResponse(short as never)).rejects.toThrow(CacheError);
        const lone = Object.freeze(["GET", "\ud800", "v1"] as const);
        for (let i = 0; i < 2; i++) await expect(repo.getResponse(lone)).rejects.toThrow(/lone UTF-16 surrogate/);
        // Checked by one repository is not checked for another: this one's keys have two parts.
        const narrow = cache.createRepository(
          defineSettings({
            name: "narrow",
            fields: ["id"],
            getKey: () => [null],
            payloadHandler: new JSONPayloadHandler(),
          }),
        );
        await expect(narrow.getResponse(key as never)).rejects.toThrow(/has 2 parts/);
      });

      it("replaces an entry saved again under the same key", async () => {
        const { repo } = await openTracks();
        const key: Key = ["GET", "a", "v1"];
        await repo.saveResponse([key, { name: "first" }]);
        clock += 10;
        await repo.saveResponse([key, { name: "second" }]);
        expect(await repo.getResponse(key)).toEqual({ name: "second" });
        expect((await repo.getEntry(key))?.cachedAt).toBe(START + 10);
        expect(await repo.count()).toBe(1);
      });

      it("deletes an entry, and reports a missing key as not deleted", async () => {
        const { repo } = await openTracks();
        await repo.saveResponse([["GET", "a", "v1"], { name: "a" }]);
        expect(await repo.deleteResponse(["GET", "a", "v1"])).toBe(true);
        expect(await repo.deleteResponse(["GET", "a", "v1"])).toBe(false);
        expect(await repo.deleteResponse(["GET", "never", "v1"])).toBe(false);
        expect(await repo.deleteResponses([["GET", "x", "v1"], trackRequest("y")])).toBe(0);
        expect(await repo.getResponse(["GET", "a", "v1"])).toBeUndefined();
      });

      it("does not store a body that the payload handler refuses", async () => {
        const { repo } = await openTracks();
        const response = new Response("<html>not json</html>", { headers: { "content-type": "text/html" } });
        await expect(repo.saveResponse({ request: trackRequest("a"), response })).rejects.toThrow(PayloadHandlerError);
        await expect(repo.saveResponse([["GET", "b", "v1"], 10n as never])).rejects.toThrow(/bigint/);
        expect(await repo.count()).toBe(0);
      });
    });

    describe("HTTP metadata and whole entries", () => {
      it("tells a writer through onVisible, once and before the write resolves, that its entry can be read", async () => {
        const { repo } = await openTracks();
        const head = { status: 200, headers: [["etag", '"1"']] as [string, string][], url: `${API}/v1/tracks/vis` };
        const bytes = new TextEncoder().encode('{"name":"vis"}');
        const seen: string[] = [];
        let resolved = false;
        let reading: Promise<unknown> | undefined;
        const write = repo
          .saveResponseBytes(trackRequest("vis"), head, bytes, {
            onVisible: () => {
              seen.push(resolved ? "after" : "before");
              reading = repo.getResponse(trackRequest("vis"));
            },
          })
          .then((saved) => {
            resolved = true;
            return saved;
          });
        expect(await write).toBe(true);
        expect(seen).toEqual(["before"]);
        expect(await reading).toEqual({ name: "vis" });
        await expect(
          repo.saveResponseBytes(trackRequest("vis2"), head, bytes, { onVisible: 1 as never }),
        ).rejects.toThrow(/onVisible must be a function, got a number \(1\)/);
        expect(await repo.contains(trackRequest("vis2"))).toBe(false);
      });

      it("stores the metadata and the expiry given to saveResponseBytes verbatim", async () => {
        const { repo } = await openTracks();
        const meta = '{"v":1,"r":1,"a":0,"l":60000,"f":8,"w":0,"e":0,"y":[["accept-language","de"]],"é":"ü"}';
        const head = { status: 200, headers: [["etag", '"1"']] as [string, string][], url: `${API}/v1/tracks/m` };
        const bytes = new TextEncoder().encode('{"name":"m"}');
        expect(await repo.saveResponseBytes(trackRequest("m"), head, bytes, { meta, expiresAt: START + 5 })).toBe(true);
        const entry = await repo.getEntry(trackRequest("m"));
        expect(entry?.meta).toBe(meta);
        expect(entry?.expiresAt).toBe(START + 5);
        expect(await repo.saveResponseBytes(trackRequest("n"), head, bytes)).toBe(true);
        expect((await repo.getEntry(trackRequest("n")))?.meta).toBeNull();
        await expect(repo.saveResponseBytes(trackRequest("o"), head, bytes, { meta: 1 as never })).rejects.toThrow(
          /meta must be JSON text or null/,
        );
      });

      it("writes whole entries with saveEntries, replacing by key, and checks the keys", async () => {
        const { repo } = await openTracks();
        const base = trackEntry("w");
        const other = { ...base, key: ["GET", "x", "v1"] as Key, meta: null };
        expect(await repo.saveEntries([base, other, { ...base, name: "W2" }])).toBe(2);
        expect(await repo.getEntry(base.key)).toEqual({ ...base, name: "W2" });
        expect((await repo.getEntry(other.key))?.meta).toBeNull();
        await expect(repo.saveEntries([{ ...base, key: ["GET", "short"] }])).rejects.toThrow(CacheError);
        await expect(repo.saveEntries([{ ...base, expiresAt: "soon" as never }])).rejects.toThrow(/expiresAt/);
        expect(await repo.count()).toBe(2);
      });

      it("reads with getPayloadEntry what answering with a payload needs, live entries only", async () => {
        const { repo } = await openTracks();
        const entry = trackEntry("p", { status: 203, headers: '[["etag","\\"3\\""]]', meta: '{"v":1,"r":1}' });
        await repo.saveEntries([entry, { ...entry, key: ["GET", "gone", "v1"], expiresAt: START }]);
        const read = await repo.getPayloadEntry(entry.key);
        expect(read).toMatchObject({
          key: entry.key,
          cachedAt: entry.cachedAt,
          expiresAt: entry.expiresAt,
          payload: entry.payload,
          status: 203,
          meta: entry.meta,
        });
        // What it leaves out reads as null or as stored, as the backend can.
        for (const field of ["name", "headers", "url"] as const) expect([null, entry[field]]).toContain(read?.[field]);
        expect(await repo.getPayloadEntry(["GET", "gone", "v1"])).toBeUndefined();
        expect(await repo.getPayloadEntry(["GET", "missing", "v1"])).toBeUndefined();
        await expect(repo.getPayloadEntry(["GET", "short"] as never)).rejects.toThrow(CacheError);
      });

      it("reads with payloadEntryNow what getPayloadEntry reads, at once or through a promise", async () => {
        const { repo } = await openTracks();
        const entry = trackEntry("n", { status: 203, meta: '{"v":1,"r":1}' });
        await repo.saveEntries([entry, { ...entry, key: ["GET", "gone", "v1"], expiresAt: START }]);
        const key = Object.freeze([...entry.key]);
        const read = await repo.payloadEntryNow(key);
        expect(read).toEqual(await repo.getPayloadEntry(key));
        expect(read).toMatchObject({ key: entry.key, payload: entry.payload, status: 203, meta: entry.meta });
        expect(await repo.payloadEntryNow(["GET", "gone", "v1"])).toBeUndefined();
        expect(await repo.payloadEntryNow(["GET", "missing", "v1"])).toBeUndefined();
        expect(() => repo.payloadEntryNow(["GET", "short"] as never)).toThrow(CacheError);
      });
    });

    describe("expiry", () => {
      it("keeps an entry live while now < expiresAt and not one millisecond longer, everywhere", async () => {
        const { repo } = await openTracks({ expire: 1_000 });
        const key: Key = ["GET", "a", "v1"];
        await repo.saveResponse([key, { name: "a" }]);
        expect((await repo.getEntry(key))?.expiresAt).toBe(START + 1_000);

        const live = async () => ({
          get: await repo.getResponse(key),
          contains: await repo.contains(key),
          countLive: await repo.count(false),
          countAll: await repo.count(true),
          bulk: (await repo.getResponses([key])).length,
          iterated: await collect(repo),
        });

        clock = START + 999;
        expect(await live()).toEqual({
          get: { name: "a" },
          contains: true,
          countLive: 1,
          countAll: 1,
          bulk: 1,
          iterated: [[key, { name: "a" }]],
        });

        clock = START + 1_000;
        expect(await live()).toEqual({
          get: undefined,
          contains: false,
          countLive: 0,
          countAll: 1,
          bulk: 0,
          iterated: [],
        });
      });

      it("clear(true) removes exactly the expired entries and says how many", async () => {
        const { repo } = await openTracks({ expire: 1_000 });
        await repo.saveResponses([
          [["GET", "old1", "v1"], { name: "old1" }],
          [["GET", "old2", "v1"], { name: "old2" }],
        ]);
        clock = START + 500;
        await repo.saveResponse([["GET", "new", "v1"], { name: "new" }]);
        clock = START + 1_000;
        expect(await repo.count(true)).toBe(3);
        expect(await repo.clear(true)).toBe(2);
        expect(await repo.count(true)).toBe(1);
        expect(await repo.getResponse(["GET", "new", "v1"])).toEqual({ name: "new" });
        expect(await repo.clear(true)).toBe(0);
        expect(await repo.clear()).toBe(1);
        expect(await repo.count(true)).toBe(0);
      });

      it("follows the calendar for months, and a repository may override the cache's expiry", async () => {
        const cache = await open({ expire: { months: 1 } });
        const monthly = cache.createRepository(tracks("monthly"));
        const hourly = cache.createRepository(tracks("hourly"), { expire: { hours: 1 } });
        await monthly.create();
        await hourly.create();
        await monthly.saveResponse([["GET", "a", "v1"], { name: "a" }]);
        await hourly.saveResponse([["GET", "a", "v1"], { name: "a" }]);
        // 31 January + 1 month is the last day of February.
        expect((await monthly.getEntry(["GET", "a", "v1"]))?.expiresAt).toBe(Date.UTC(2026, 1, 28, 12, 0, 0));
        expect((await hourly.getEntry(["GET", "a", "v1"]))?.expiresAt).toBe(START + 3_600_000);
      });

      it("returns an expired entry that the backend still holds to getEntry and getEntries with includeExpired", async () => {
        const { repo } = await openTracks({ expire: 1_000 });
        const key: Key = ["GET", "a", "v1"];
        await repo.saveResponse([key, { name: "a" }]);
        expect((await repo.getEntry(key, { includeExpired: true }))?.expiresAt).toBe(START + 1_000);
        clock = START + 5_000;
        expect(await repo.getEntry(key)).toBeUndefined();
        const expired = await repo.getEntry(key, { includeExpired: true });
        expect(expired).toMatchObject({ key, name: "a", cachedAt: START, expiresAt: START + 1_000 });
        expect(expired?.payload).toBe('{"name":"a"}');
        expect(await repo.getEntry(["GET", "missing", "v1"], { includeExpired: true })).toBeUndefined();
        // getEntries too, in one read, aligned with the keys asked for.
        const missing: Key = ["GET", "missing", "v1"];
        expect(await repo.getEntries([key, missing])).toEqual([undefined, undefined]);
        const both = await repo.getEntries([missing, key], { includeExpired: true });
        expect(both[0]).toBeUndefined();
        expect(both[1]).toMatchObject({ key, name: "a", cachedAt: START, expiresAt: START + 1_000 });
      });

      it("refuses an expiry longer than MAX_EXPIRE at construction, and keeps one of exactly that", async () => {
        for (const expire of [{ years: 300_000 }, 2 ** 53 + 2, 1e300, MAX_EXPIRE + 1, { years: 1_000, days: 2 }]) {
          await expect(target.makeCache({ expire })).rejects.toThrow(/at most/);
          await expect(target.makeCache({ expire })).rejects.toThrow(RangeError);
        }
        const { cache, repo } = await openTracks({ expire: MAX_EXPIRE });
        expect(() => cache.createRepository(tracks("far"), { expire: { years: 300_000 } })).toThrow(RangeError);
        const key: Key = ["GET", "a", "v1"];
        await repo.saveResponse([key, { name: "a" }]);
        expect((await repo.getEntry(key))?.expiresAt).toBe(START + MAX_EXPIRE);
        expect(await repo.getResponse(key)).toEqual({ name: "a" });
        expect(await repo.count(false)).toBe(1);
        const years = cache.createRepository(tracks("years"), { expire: { years: 1_000 } });
        await years.create();
        await years.saveResponse([key, { name: "y" }]);
        expect((await years.getEntry(key))?.expiresAt).toBe(Date.UTC(3026, 0, 31, 12, 0, 0));
      });

      it("refuses a non-finite, zero or negative expiry at construction", async () => {
        for (const expire of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, {}, { days: -1 }, { months: 0.5 }]) {
          await expect(target.makeCache({ expire })).rejects.toThrow(RangeError);
        }
        await expect(target.makeCache({ expire: { fortnights: 1 } as never })).rejects.toThrow(/unknown unit/);
        const cache = await open();
        expect(() => cache.createRepository(tracks("bad"), { expire: -5 })).toThrow(RangeError);
      });
    });

    describe("many entries", () => {
      it("saves, reads and deletes many entries in one call, keeping request order", async () => {
        const { repo } = await openTracks();
        const ids = Array.from({ length: 1_000 }, (_, i) => `id-${i}`);
        const saved = await repo.saveResponses(ids.map((id) => [trackRequest(id), { name: id }] as const));
        expect(saved).toBe(1_000);
        expect(await repo.count()).toBe(1_000);

        const wanted = ["id-999", "missing", "id-0", "id-500", "id-0"].map((id) => trackRequest(id));
        expect(await repo.getResponses(wanted)).toEqual([
          { name: "id-999" },
          { name: "id-0" },
          { name: "id-500" },
          { name: "id-0" },
        ]);
        const entries = await repo.getEntries(wanted);
        expect(entries.map((entry) => entry?.name)).toEqual(["id-999", undefined, "id-0", "id-500", "id-0"]);

        const deleted = await repo.deleteResponses([...ids.slice(0, 600), "missing"].map((id) => trackRequest(id)));
        expect(deleted).toBe(600);
        expect(await repo.count()).toBe(400);
      });

      it("takes a Map of key to payload, and keeps the last payload of a key given twice", async () => {
        const { repo } = await openTracks();
        const map = new Map<Key, JSONValue>([
          [["GET", "a", "v1"], { name: "a" }],
          [["GET", "b", "v1"], { name: "b" }],
        ]);
        expect(await repo.saveResponses(map)).toBe(2);
        expect(
          await repo.saveResponses([
            [["GET", "c", "v1"], { name: "first" }],
            [["GET", "c", "v1"], { name: "last" }],
          ]),
        ).toBe(1);
        expect(
          await repo.getResponses([
            ["GET", "a", "v1"],
            ["GET", "b", "v1"],
            ["GET", "c", "v1"],
          ]),
        ).toEqual([{ name: "a" }, { name: "b" }, { name: "last" }]);
      });

      it("saves all or nothing: one bad payload leaves the repository as it was", async () => {
        const { repo } = await openTracks();
        await repo.saveResponse([["GET", "keep", "v1"], { name: "before" }]);
        const batch = [
          [["GET", "keep", "v1"], { name: "after" }],
          ...Array.from({ length: 50 }, (_, i) => [["GET", `n${i}`, "v1"], { name: `n${i}` }]),
          [
            ["GET", "bad", "v1"],
            {
              cyclic: (() => {
                const a: Record<string, unknown> = {};
                a.self = a;
                return a;
              })(),
            },
          ],
        ] as const;
        await expect(repo.saveResponses(batch as never)).rejects.toThrow(PayloadHandlerError);
        expect(await repo.count()).toBe(1);
        expect(await repo.getResponse(["GET", "keep", "v1"])).toEqual({ name: "before" });
      });

      it("skips requests that are not cached and saves the rest", async () => {
        const { repo } = await openTracks();
        const written = await repo.saveResponses([
          { request: trackRequest("a"), response: jsonResponse({ name: "a" }) },
          { request: trackRequest("b", "DELETE"), response: jsonResponse({ name: "b" }) },
        ]);
        expect(written).toBe(1);
        expect(await repo.count()).toBe(1);
      });

      it("loses no entry when many saves run at once", async () => {
        const { repo } = await openTracks();
        await Promise.all(
          Array.from({ length: 200 }, (_, i) => repo.saveResponse([["GET", `c${i}`, "v1"], { name: `c${i}` }])),
        );
        expect(await repo.count()).toBe(200);
      });
    });

    describe("keys and payloads", () => {
      it("keeps keys distinct and intact whatever their parts hold", async () => {
        const cache = await open({}, (c) => {
          c.createRepository(
            defineSettings({
              name: "weird",
              fields: ["a", "b"],
              getKey: () => [null, null],
              payloadHandler: new StringPayloadHandler(),
            }),
          );
        });
        const repo = cache.get("weird") as AnyRepository;
        const parts: (string | number)[] = [
          "",
          ",",
          "|",
          ":",
          "a:b",
          "a",
          'say "hi"',
          "it's",
          "line\nbreak",
          "tab\tand\r\nCRLF",
          "nul\u0000byte",
          "ünïcødé ✓ 日本語 😀",
          "x".repeat(10_000),
          "%2F/\\",
          "[*?]",
          "1",
          1,
          1.5,
          -0.25,
          0,
        ];
        const keys: Key[] = [];
        for (const a of parts) keys.push(["GET", a, "tail"]);
        keys.push(["GET", "a:b", ""], ["GET", "a", ":b"], ["GET", "a,", "b"], ["GET", "a", ",b"]);
        keys.push(["POST", "a", ":b"]);
        await repo.saveResponses(keys.map((key, i) => [key, `payload ${i}`] as const));
        expect(await repo.count()).toBe(keys.length);
        for (const [i, key] of keys.entries()) expect(await repo.getResponse(key)).toBe(`payload ${i}`);
        const iterated = await collect(repo);
        expect(iterated).toHaveLength(keys.length);
        const byPayload = new Map(iterated.map(([key, payload]) => [payload, key]));
        for (const [i, key] of keys.entries()) expect(byPayload.get(`payload ${i}`)).toEqual(key);
        expect(await repo.getResponse(["GET", "1", "tail"])).toBe(`payload ${parts.indexOf("1")}`);
        expect(await repo.getResponse(["GET", 1, "tail"])).toBe(`payload ${parts.indexOf(1)}`);
      });

      it("round-trips payloads with every byte value, and text in any script", async () => {
        const cache = await open({}, (c) => {
          c.createRepository(
            defineSettings({
              name: "bytes",
              fields: ["id"],
              getKey: () => [null],
              payloadHandler: new BytesPayloadHandler(),
            }),
          );
          c.createRepository(
            defineSettings({
              name: "text",
              fields: ["id"],
              getKey: () => [null],
              payloadHandler: new StringPayloadHandler(),
            }),
          );
        });
        const everyByte = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);
        const bytes = cache.get("bytes") as AnyRepository;
        await bytes.saveResponse([["GET", "all"], everyByte]);
        const back = (await bytes.getResponse(["GET", "all"])) as Uint8Array;
        expect(back).toBeInstanceOf(Uint8Array);
        expect(Array.from(back)).toEqual(Array.from(everyByte));
        expect(new Set(back).size).toBe(256);
        const [[, iterated]] = (await collect(bytes)) as [[Key, Uint8Array]];
        expect(Array.from(iterated)).toEqual(Array.from(everyByte));

        const text = cache.get("text") as AnyRepository;
        const sample = "naïve café — 日本語 — 😀 — \u0000 — \r\n";
        await text.saveResponse([["GET", "t"], sample]);
        expect(await text.getResponse(["GET", "t"])).toBe(sample);
      });

      it("gives callers copies: changing returned bytes does not change the stored entry", async () => {
        const cache = await open({}, (c) => {
          c.createRepository(
            defineSettings({
              name: "bytes",
              fields: ["id"],
              getKey: () => [null],
              payloadHandler: new BytesPayloadHandler(),
            }),
          );
        });
        const repo = cache.get("bytes") as AnyRepository;
        const original = Uint8Array.from([1, 2, 3]);
        await repo.saveResponse([["GET", "x"], original]);
        original[0] = 99;
        const first = (await repo.getResponse(["GET", "x"])) as Uint8Array;
        first[1] = 99;
        expect(Array.from((await repo.getResponse(["GET", "x"])) as Uint8Array)).toEqual([1, 2, 3]);
      });
    });

    describe("iteration", () => {
      it("sees each live entry exactly once, across batches, while entries change", async () => {
        const { repo } = await openTracks({ expire: 1_000 });
        await repo.saveResponses(
          Array.from({ length: 300 }, (_, i) => [["GET", `old${i}`, "v1"], { name: "old" }] as const),
        );
        clock = START + 600;
        const live = Array.from({ length: 700 }, (_, i) => `live${i}`);
        await repo.saveResponses(live.map((id) => [["GET", id, "v1"], { name: id }] as const));
        clock = START + 1_200; // the first 300 have expired
        const seen = new Map<string, number>();
        let updates = 0;
        for await (const [key] of repo) {
          const id = String(key[1]);
          seen.set(id, (seen.get(id) ?? 0) + 1);
          if (updates < 50) {
            // Saving existing entries again must not make the iteration see them twice.
            await repo.saveResponse([["GET", `live${updates * 7}`, "v1"], { name: "updated" }]);
            updates++;
          }
        }
        expect(seen.size).toBe(700);
        expect([...seen.values()].every((times) => times === 1)).toBe(true);
        expect([...seen.keys()].every((id) => id.startsWith("live"))).toBe(true);
      });

      it("yields nothing for an empty repository", async () => {
        const { repo } = await openTracks();
        expect(await collect(repo)).toEqual([]);
      });
    });

    describe("repository names", () => {
      const hostile = [
        'tracks"; DROP TABLE "albums"; --',
        "albums'); DELETE FROM albums; --",
        "with space",
        "dots.and:colons",
        "glob*?[chars]{x}",
        "ünïcødé 😀",
        "x".repeat(40),
        "back\\slash/slash",
      ];

      it("stores under any of these names, each repository apart from the others", async () => {
        const cache = await open({}, (c) => {
          c.createRepository(tracks("albums"));
          for (const name of hostile) c.createRepository(tracks(name));
        });
        const albums = cache.get("albums") as AnyRepository;
        await albums.saveResponse([["GET", "keep", "v1"], { name: "album" }]);
        for (const [i, name] of hostile.entries()) {
          const repo = cache.get(name) as AnyRepository;
          await repo.saveResponses(
            Array.from({ length: i + 1 }, (_, j) => [["GET", `k${j}`, "v1"], { name }] as const),
          );
        }
        for (const [i, name] of hostile.entries()) {
          const repo = cache.get(name) as AnyRepository;
          expect(await repo.count()).toBe(i + 1);
          expect(await repo.getResponse(["GET", "k0", "v1"])).toEqual({ name });
          expect(await repo.clear()).toBe(i + 1);
        }
        expect(await albums.count()).toBe(1);
        expect(await albums.getResponse(["GET", "keep", "v1"])).toEqual({ name: "album" });
      });

      it("refuses field names that a database keeps for itself, in any case, on every backend", async () => {
        const cache = await open();
        const names = ["rowid", "ROWID", "oid", "_rowid_", "xmin", "xmax", "cmin", "cmax", "ctid", "tableoid", "XMin"];
        for (const field of names) {
          const settings = defineSettings({ name: `f-${field}`, fields: ["id", field], getKey: () => [null, null] });
          expect(() => cache.createRepository(settings)).toThrow(CacheError);
          expect(() => cache.createRepository(settings)).toThrow(/kept by/);
        }
        expect(cache.size).toBe(0);
      });

      it("refuses key parts, names and fields that hold a lone UTF-16 surrogate, which no store keeps apart", async () => {
        const { cache, repo } = await openTracks();
        for (const part of ["\ud800", "a\udc00b", "\udc00\ud800"]) {
          const key: Key = ["GET", part, "v1"];
          await expect(repo.saveResponse([key, { name: "x" }])).rejects.toThrow(/lone UTF-16 surrogate/);
          await expect(repo.getResponse(key)).rejects.toThrow(CacheError);
          await expect(repo.getEntries([key])).rejects.toThrow(CacheError);
          await expect(repo.saveResponses([[key, { name: "x" }]])).rejects.toThrow(CacheError);
        }
        await expect(repo.getResponse(["\ud800", "a", "v1"])).rejects.toThrow(CacheError);
        expect(() => cache.createRepository(tracks("bad\ud800"))).toThrow(CacheError);
        expect(() =>
          cache.createRepository(defineSettings({ name: "f", fields: ["x\udfff"], getKey: () => [null] })),
        ).toThrow(CacheError);
        // A well-formed pair is an ordinary character.
        await repo.saveResponse([["GET", "\ud83d\ude00", "v1"], { name: "smile" }]);
        expect(await repo.getEntries([["GET", "\ud83d\ude00", "v1"]])).toMatchObject([{ name: "smile" }]);
        expect(await repo.count()).toBe(1);
      });

      it("refuses a duplicate name, a field named like a stored column, and a repeated field", async () => {
        const cache = await open({}, (c) => {
          c.createRepository(tracks("tracks"));
        });
        expect(() => cache.createRepository(tracks("tracks"))).toThrow(CacheError);
        const withField = (fields: string[]) =>
          defineSettings({ name: `f-${fields.join("-")}`, fields, getKey: () => fields.map(() => null) });
        expect(() => cache.createRepository(withField(["payload"]))).toThrow(/kept for the entry/);
        expect(() => cache.createRepository(withField(["id", "ID"]))).toThrow(/twice/);
        expect(() =>
          cache.createRepository(defineSettings({ name: "a\u0000b", fields: [], getKey: () => [] })),
        ).toThrow(CacheError);
        expect(() => defineSettings({ name: "", fields: [], getKey: () => [] })).toThrow(TypeError);
      });
    });

    describe("the cache", () => {
      it("gives Map-like access to its repositories", async () => {
        const cache = await open({}, (c) => {
          c.createRepository(tracks("tracks"));
          c.createRepository(tracks("albums"));
        });
        expect(cache.size).toBe(2);
        expect(cache.has("tracks")).toBe(true);
        expect(cache.has("artists")).toBe(false);
        expect([...cache.keys()].sort()).toEqual(["albums", "tracks"]);
        expect([...cache].map(([name]) => name).sort()).toEqual(["albums", "tracks"]);
        expect(cache.get("tracks")?.name).toBe("tracks");
        expect(cache.connected).toBe(true);
      });

      it("routes get, save and delete to the repository that the URL maps to", async () => {
        const cache = await open({}, (c) => {
          c.createRepository(tracks("tracks"));
          c.createRepository(tracks("albums"));
        });
        const track = trackRequest("t1");
        const album = new Request(`${API}/v1/albums/a1`);
        expect(cache.getRepositoryFromUrl(track.url)?.name).toBe("tracks");
        expect(cache.getRepositoryFromUrl(`${API}/v1/albums/a1`)?.name).toBe("albums");
        expect(cache.getRepositoryFromUrl(`${API}/v1/artists/x`)).toBeUndefined();
        expect(() => cache.getRepositoryFromRequests([track, album])).toThrow(CacheError);

        expect(await cache.saveResponse({ request: track, response: jsonResponse({ name: "T" }) })).toBe(true);
        expect(await cache.saveResponse({ request: album, response: jsonResponse({ name: "A" }) })).toBe(true);
        expect(await cache.saveResponse([new Request(`${API}/v1/artists/x`), { name: "nowhere" }])).toBe(false);
        expect(await cache.getResponse(track)).toEqual({ name: "T" });
        expect(await cache.getResponse({ method: "GET", url: `${API}/v1/albums/a1` })).toEqual({ name: "A" });
        expect(await (cache.get("albums") as AnyRepository).count()).toBe(1);

        expect(
          await cache.saveResponses([
            [trackRequest("t2"), { name: "T2" }],
            [trackRequest("t3"), { name: "T3" }],
          ]),
        ).toBe(2);
        expect(await cache.getResponses([trackRequest("t3"), trackRequest("t1")])).toEqual([
          { name: "T3" },
          { name: "T" },
        ]);
        await expect(cache.getResponses([track, album])).rejects.toThrow(CacheError);
        expect(await cache.deleteResponses([trackRequest("t1"), trackRequest("t2")])).toBe(2);
        expect(await cache.deleteResponse(album)).toBe(true);
        expect(await cache.deleteResponse(album)).toBe(false);
        expect(await (cache.get("tracks") as AnyRepository).count()).toBe(1);
      });

      it("refuses a bare Response with the repository's message, and unknown options naming the valid ones", async () => {
        const { cache } = await openTracks();
        await expect(cache.saveResponse(jsonResponse({}) as never)).rejects.toThrow(/needs the request/);
        await expect(cache.saveResponses([jsonResponse({})] as never)).rejects.toThrow(/needs the request/);
        await expect(target.makeCache({ expires: 1_000 } as never)).rejects.toThrow(TypeError);
        await expect(target.makeCache({ expires: 1_000 } as never)).rejects.toThrow(
          /no option "expires".*repositoryGetter, expire/,
        );
      });

      it("creates a repository added after it connected", async () => {
        const cache = await open();
        const late = cache.createRepository(tracks("late"));
        await late.saveResponse([["GET", "a", "v1"], { name: "late" }]);
        expect(await late.getResponse(["GET", "a", "v1"])).toEqual({ name: "late" });
      });

      it("fails clearly once closed, and closes with await using", async () => {
        let repository: AnyRepository | undefined;
        {
          await using cache = await open({}, (c) => {
            repository = c.createRepository(tracks());
          });
          await repository?.saveResponse([["GET", "a", "v1"], { name: "a" }]);
          expect(cache.connected).toBe(true);
        }
        await expect(repository?.getResponse(["GET", "a", "v1"])).rejects.toThrow(/closed/);
        await expect(repository?.count()).rejects.toThrow(CacheError);
      });

      it("refuses to use a repository that was never created", async () => {
        const cache = await target.makeCache({ now });
        opened.push(cache);
        const repo = cache.createRepository(tracks());
        await expect(repo.getResponse(["GET", "a", "v1"])).rejects.toThrow(/connect\(\)/);
      });

      // Only stores that outlive the cache object can keep entries for the next one.
      if (target.persistent) {
        it("keeps entries for the next cache on the same store", async () => {
          const first = await open({}, (c) => {
            c.createRepository(tracks());
          });
          await (first.get("tracks") as AnyRepository).saveResponse([["GET", "kept", "v1"], { name: "kept" }]);
          await first.close();
          const second = await open({}, (c) => {
            c.createRepository(tracks());
          });
          expect(await (second.get("tracks") as AnyRepository).getResponse(["GET", "kept", "v1"])).toEqual({
            name: "kept",
          });
        });
      }
    });
  });
}

async function collect(repo: AnyRepository): Promise<[Key, unknown][]> {
  const out: [Key, unknown][] = [];
  for await (const [key, payload] of repo) out.push([[...key] as unknown as Key, payload]);
  return out;
}
