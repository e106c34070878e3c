import { describe, expect, it } from "vitest";
import {
  byteRange,
  cacheStatus,
  conditionalFields,
  contentRange,
  decideStore,
  Flag,
  invalidationTargets,
  judge,
  mergeNotModified,
  NO_REQUEST_DIRECTIVES,
  pairFields,
  requestDirectives,
  type StoreInput,
  selects,
  varyMatches,
  varyValues,
} from "../../../src/session/http/index.js";

const NOW = Date.UTC(2026, 0, 1, 12);
const DATE = new Date(NOW).toUTCString();

function input(headers: Record<string, string>, overrides: Partial<StoreInput> = {}): StoreInput {
  return {
    policy: "http",
    shared: false,
    method: "GET",
    status: 200,
    request: undefined,
    response: new Headers(headers),
    requestTime: NOW,
    responseTime: NOW,
    storesStatus: (status) => status >= 200 && status < 300,
    ignoreNoStore: false,
    ...overrides,
  };
}

describe("decideStore (RFC 9111 §3, §4.2)", () => {
  it("takes the lifetime from max-age and subtracts the corrected initial age", () => {
    const decision = decideStore(input({ "cache-control": "max-age=100", date: DATE, age: "30" }));
    expect(decision).toMatchObject({ store: true, meta: { l: 100_000, a: 30_000 }, freshUntil: NOW + 70_000 });
  });

  it("prefers s-maxage in a shared cache only, and makes it must-revalidate there (§5.2.2.10)", () => {
    const headers = { "cache-control": "max-age=10, s-maxage=100" };
    const shared = decideStore(input(headers, { shared: true }));
    const own = decideStore(input(headers));
    expect(shared).toMatchObject({ store: true, meta: { l: 100_000 } });
    expect(shared.store && (shared.meta.f & Flag.MustRevalidate) !== 0).toBe(true);
    expect(own).toMatchObject({ store: true, meta: { l: 10_000 } });
  });

  it("uses Expires − Date, and an invalid Expires as already expired (§5.3)", () => {
    const later = new Date(NOW + 60_000).toUTCString();
    expect(decideStore(input({ expires: later, date: DATE }))).toMatchObject({ meta: { l: 60_000 } });
    expect(decideStore(input({ expires: "0", date: DATE }))).toMatchObject({ store: true, meta: { l: 0 } });
  });

  it("gives heuristically cacheable statuses 10% of the time since Last-Modified (§4.2.2)", () => {
    const modified = new Date(NOW - 100_000_000).toUTCString();
    const decision = decideStore(input({ date: DATE, "last-modified": modified }));
    expect(decision).toMatchObject({ store: true, meta: { l: 10_000_000 } });
    expect(decision.store && (decision.meta.f & Flag.Heuristic) !== 0).toBe(true);
    const notHeuristic = decideStore(input({ date: DATE, "last-modified": modified }, { status: 201 }));
    expect(notHeuristic).toMatchObject({ store: true, meta: { l: 0 } }); // kept for validation only
  });

  it("stores other final statuses with an explicit lifetime, and not 206 or 304", () => {
    expect(decideStore(input({ "cache-control": "max-age=60" }, { status: 500 })).store).toBe(true);
    expect(decideStore(input({ "cache-control": "max-age=60" }, { status: 206 }))).toEqual({
      store: false,
      reason: "status",
    });
    expect(decideStore(input({}, { status: 299 }))).toEqual({ store: false, reason: "no-freshness" });
  });

  it("honours no-store, private in shared caches, and Authorization in shared caches", () => {
    expect(decideStore(input({ "cache-control": "no-store, max-age=60" }))).toEqual({
      store: false,
      reason: "no-store",
    });
    expect(decideStore(input({ "cache-control": "private, max-age=60" }, { shared: true }))).toEqual({
      store: false,
      reason: "private",
    });
    expect(decideStore(input({ "cache-control": "private, max-age=60" })).store).toBe(true);
    const authorised = new Headers({ authorization: "Bearer x" });
    expect(decideStore(input({ "cache-control": "max-age=60" }, { shared: true, request: authorised }))).toEqual({
      store: false,
      reason: "authorization",
    });
    expect(
      decideStore(input({ "cache-control": "max-age=60, public" }, { shared: true, request: authorised })).store,
    ).toBe(true);
  });

  it("lets must-understand override no-store for understood statuses only (§5.2.2.3)", () => {
    const headers = { "cache-control": "must-understand, no-store, max-age=60" };
    expect(decideStore(input(headers)).store).toBe(true);
    expect(decideStore(input(headers, { status: 299 }))).toEqual({ store: false, reason: "must-understand" });
  });

  it("refuses Vary: * and records the fields named by Vary", () => {
    expect(decideStore(input({ "cache-control": "max-age=60", vary: "Foo, *" }))).toEqual({
      store: false,
      reason: "vary",
    });
    const request = new Headers({ foo: " 1,2 " });
    expect(decideStore(input({ "cache-control": "max-age=60", vary: "Foo, Bar" }, { request }))).toMatchObject({
      meta: {
        y: [
          ["foo", "1,2"],
          ["bar", null],
        ],
      },
    });
  });

  it("in the expire policy, stores the repository's statuses and ignores the lifetime", () => {
    const expire = { policy: "expire" as const };
    expect(decideStore(input({ "cache-control": "private, max-age=0" }, expire)).store).toBe(true);
    expect(decideStore(input({}, { ...expire, status: 404 }))).toEqual({ store: false, reason: "status" });
    expect(decideStore(input({ "cache-control": "no-store" }, expire))).toEqual({ store: false, reason: "no-store" });
    expect(decideStore(input({ "cache-control": "no-store" }, { ...expire, ignoreNoStore: true })).store).toBe(true);
  });
});

describe("judge (RFC 9111 §4.2, §5.2.1, RFC 5861)", () => {
  const fresh = { age: 10_000, lifetime: 60_000, flags: 0, staleWhileRevalidate: 0 };
  const stale = { age: 70_000, lifetime: 60_000, flags: 0, staleWhileRevalidate: 0 };

  it("serves fresh responses and validates stale ones", () => {
    expect(judge(fresh, NO_REQUEST_DIRECTIVES)).toEqual({ type: "fresh" });
    expect(judge(stale, NO_REQUEST_DIRECTIVES)).toEqual({ type: "revalidate", reason: "stale" });
  });

  it("validates no-cache responses and no-cache requests", () => {
    expect(judge({ ...fresh, flags: Flag.NoCache }, NO_REQUEST_DIRECTIVES).type).toBe("revalidate");
    expect(judge(fresh, requestDirectives(new Headers({ pragma: "no-cache" })))).toEqual({
      type: "revalidate",
      reason: "request-no-cache",
    });
    // Pragma counts only without Cache-Control (RFC 9111 §5.4).
    expect(judge(fresh, requestDirectives(new Headers({ pragma: "no-cache", "cache-control": "max-stale" })))).toEqual({
      type: "fresh",
    });
  });

  it("applies max-age, min-fresh and max-stale", () => {
    expect(judge(fresh, requestDirectives(new Headers({ "cache-control": "max-age=5" }))).type).toBe("revalidate");
    expect(judge(fresh, requestDirectives(new Headers({ "cache-control": "min-fresh=55" }))).type).toBe("revalidate");
    expect(judge(stale, requestDirectives(new Headers({ "cache-control": "max-stale=20" })))).toEqual({
      type: "stale",
      reason: "max-stale",
    });
    expect(judge(stale, requestDirectives(new Headers({ "cache-control": "max-stale" }))).type).toBe("stale");
    expect(
      judge({ ...stale, flags: Flag.MustRevalidate }, requestDirectives(new Headers({ "cache-control": "max-stale" })))
        .type,
    ).toBe("revalidate");
  });

  it("serves stale within stale-while-revalidate", () => {
    expect(judge({ ...stale, staleWhileRevalidate: 20_000 }, NO_REQUEST_DIRECTIVES)).toEqual({
      type: "stale",
      reason: "stale-while-revalidate",
    });
    expect(judge({ ...stale, staleWhileRevalidate: 5_000 }, NO_REQUEST_DIRECTIVES).type).toBe("revalidate");
  });
});

describe("Vary (RFC 9111 §4.1)", () => {
  it("matches normalised values, absent where absent", () => {
    const stored = varyValues("Foo, Accept-Language", new Headers({ foo: "1, 2", "accept-language": "en, de" }));
    if (stored === undefined || stored === "*") throw new Error("expected values");
    expect(
      varyMatches(
        stored,
        new Headers([
          ["foo", "1"],
          ["foo", "2"],
          ["accept-language", "De,EN"],
        ]),
      ),
    ).toBe(true);
    expect(varyMatches(stored, new Headers({ foo: "2, 1", "accept-language": "en, de" }))).toBe(false);
    expect(varyMatches(stored, undefined)).toBe(false);
    const absent = varyValues("Foo", undefined);
    if (absent === undefined || absent === "*") throw new Error("expected values");
    expect(varyMatches(absent, new Headers({ foo: "1" }))).toBe(false);
    expect(varyMatches(absent, new Headers())).toBe(true);
  });
});

describe("validation (RFC 9111 §3.2, §4.3)", () => {
  const stored: [string, string][] = [
    ["content-type", "text/plain"],
    ["etag", '"a"'],
    ["last-modified", "Wed, 01 Jan 2020 00:00:00 GMT"],
    ["x-old", "1"],
    ["content-length", "36"],
  ];

  it("makes If-None-Match and If-Modified-Since", () => {
    expect(conditionalFields(pairFields(stored))).toEqual([
      ["if-none-match", '"a"'],
      ["if-modified-since", "Wed, 01 Jan 2020 00:00:00 GMT"],
    ]);
    expect(conditionalFields(pairFields([]))).toEqual([]);
  });

  it("replaces and adds the 304's fields, but never Content-Length", () => {
    const merged = mergeNotModified(stored, [
      ["x-old", "2"],
      ["x-new", "3"],
      ["content-length", "10"],
    ]);
    expect(merged).toEqual([
      ["content-type", "text/plain"],
      ["etag", '"a"'],
      ["last-modified", "Wed, 01 Jan 2020 00:00:00 GMT"],
      ["content-length", "36"],
      ["x-old", "2"],
      ["x-new", "3"],
    ]);
  });

  it("checks that a 304 selects the stored response", () => {
    expect(selects(pairFields(stored), new Headers({ etag: 'W/"a"' }))).toBe(true);
    expect(selects(pairFields(stored), new Headers({ etag: '"b"' }))).toBe(false);
  });
});

describe("invalidationTargets (RFC 9111 §4.4)", () => {
  const url = new URL("https://example.com/a/b");
  it("names the URL and same-origin Location and Content-Location after a non-error unsafe request", () => {
    const response = new Headers({ location: "/c", "content-location": "https://other.example/d" });
    expect(invalidationTargets("PUT", 201, url, response).map(String)).toEqual([
      "https://example.com/a/b",
      "https://example.com/c",
    ]);
    expect(invalidationTargets("M-SEARCH", 200, url, new Headers())).toHaveLength(1);
  });

  it("names nothing for safe methods or errors", () => {
    expect(invalidationTargets("GET", 200, url, new Headers())).toEqual([]);
    expect(invalidationTargets("DELETE", 500, url, new Headers())).toEqual([]);
  });
});

describe("cacheStatus (RFC 9211)", () => {
  it("names requestful and the way the answer was made", () => {
    expect(cacheStatus("hit", 30_500)).toBe("requestful; hit; ttl=30");
    expect(cacheStatus("stale", -5_000, "stale-while-revalidate")).toBe(
      "requestful; hit; ttl=-5; detail=stale-while-revalidate",
    );
    expect(cacheStatus("revalidated", 60_000)).toBe("requestful; fwd=stale; fwd-status=304; ttl=60");
  });
});

describe("byteRange (RFC 9110 §14.1.2)", () => {
  it("reads one range of each form against the length", () => {
    expect(byteRange("bytes=0-1", 11)).toEqual({ start: 0, end: 1 });
    expect(byteRange("bytes=1-", 11)).toEqual({ start: 1, end: 10 });
    expect(byteRange("bytes=-1", 11)).toEqual({ start: 10, end: 10 });
    expect(byteRange("bytes=5-100", 11)).toEqual({ start: 5, end: 10 });
    expect(contentRange({ start: 0, end: 1 }, 11)).toBe("bytes 0-1/11");
  });

  it("leaves several ranges, other units and unsatisfiable ranges to the origin", () => {
    expect(byteRange("bytes=0-1,3-4", 11)).toBeUndefined();
    expect(byteRange("items=0-1", 11)).toBeUndefined();
    expect(byteRange("bytes=20-", 11)).toBeUndefined();
    expect(byteRange("bytes=-0", 11)).toBeUndefined();
    expect(byteRange("bytes=3-1", 11)).toBeUndefined();
  });
});
