import { describe, expect, it } from "vitest";
import {
  declaredLength,
  type FetchCacheMode,
  hasConditionalHeader,
  headersToStore,
  isStorableStatus,
  planRequest,
  readResponseFields,
} from "../../src/session/policy.js";

const plain = { persist: true, conditional: false, range: false };

describe("planRequest", () => {
  it.each<[FetchCacheMode, object]>([
    ["default", { bypass: undefined, plan: { read: "live", onMiss: "network", store: true, coalesce: true } }],
    ["force-cache", { bypass: undefined, plan: { read: "any", onMiss: "network", store: true, coalesce: true } }],
    [
      "only-if-cached",
      { bypass: undefined, plan: { read: "any", onMiss: "gateway-timeout", store: false, coalesce: false } },
    ],
    ["reload", { bypass: "reload", plan: { read: "none", onMiss: "network", store: true, coalesce: false } }],
    ["no-cache", { bypass: undefined, plan: { read: "any", onMiss: "network", store: true, coalesce: false } }],
    ["no-store", { bypass: "no-store", plan: { read: "none", onMiss: "network", store: false, coalesce: false } }],
  ])("plans %s", (mode, expected) => {
    expect(planRequest({ ...plain, mode })).toEqual(expected);
  });

  it.each<FetchCacheMode>(["default", "force-cache", "reload", "no-cache"])(
    "stores nothing in %s mode when the session does not persist",
    (mode) => {
      expect(planRequest({ ...plain, mode, persist: false }).plan.store).toBe(false);
    },
  );

  it("turns a default request with a conditional header into no-store, as the Fetch standard does", () => {
    expect(planRequest({ ...plain, mode: "default", conditional: true })).toEqual({
      bypass: "conditional",
      plan: { read: "none", onMiss: "network", store: false, coalesce: false },
    });
    expect(planRequest({ ...plain, mode: "force-cache", conditional: true }).bypass).toBeUndefined();
  });

  it("never answers a Range request from the cache", () => {
    for (const mode of ["default", "force-cache", "reload"] as const) {
      expect(planRequest({ ...plain, mode, range: true })).toEqual({
        bypass: "range",
        plan: { read: "none", onMiss: "network", store: false, coalesce: false },
      });
    }
    expect(planRequest({ ...plain, mode: "only-if-cached", range: true }).plan.onMiss).toBe("gateway-timeout");
  });

  it("refuses a mode it does not know", () => {
    expect(() => planRequest({ ...plain, mode: "sometimes" as FetchCacheMode })).toThrow(TypeError);
  });
});

describe("what is stored", () => {
  it("stores whole successes only", () => {
    expect([200, 201, 203, 299].map(isStorableStatus)).toEqual([true, true, true, true]);
    expect([204, 205, 206, 301, 304, 404, 500, 199].map(isStorableStatus)).toEqual(Array(8).fill(false));
  });

  it("keeps the origin's headers but those of the connection and Set-Cookie", () => {
    const headers = new Headers([
      ["connection", "keep-alive, x-hop"],
      ["keep-alive", "timeout=5"],
      ["transfer-encoding", "chunked"],
      ["x-hop", "1"],
      ["set-cookie", "a=1"],
      ["content-type", "application/json"],
      ["etag", '"1"'],
      ["vary", "accept"],
    ]);
    expect(headersToStore(headers)).toEqual([
      ["content-type", "application/json"],
      ["etag", '"1"'],
      ["vary", "accept"],
    ]);
  });

  it("reads a response's fields in one pass as headersToStore and Headers.get read them", () => {
    const headers = new Headers([
      ["Content-Type", "application/json"],
      ["Connection", "keep-alive, X-Hop"],
      ["Keep-Alive", "timeout=5"],
      ["X-Hop", "1"],
      ["Cache-Control", "max-age=60"],
      ["cache-control", "public"],
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
      ["ETag", '"1"'],
    ]);
    const { kept, fields } = readResponseFields(headers);
    expect(kept).toEqual(headersToStore(headers));
    for (const name of ["cache-control", "Cache-Control", "set-cookie", "connection", "x-hop", "etag", "vary", "age"]) {
      expect(fields.get(name)).toBe(headers.get(name));
    }
  });

  it("drops the fields each response's own Connection lists, one response after another", () => {
    const names = (connection: string) =>
      headersToStore(new Headers({ connection, "x-a": "1", "x-b": "2", etag: '"1"' })).map(([name]) => name);
    for (let i = 0; i < 2; i++) {
      expect(names("x-a")).toEqual(["etag", "x-b"]);
      expect(names("X-B, keep-alive")).toEqual(["etag", "x-a"]);
      expect(names("close")).toEqual(["etag", "x-a", "x-b"]);
    }
  });

  it("finds conditional headers and declared lengths", () => {
    expect(hasConditionalHeader(new Headers({ "if-modified-since": "x" }))).toBe(true);
    expect(hasConditionalHeader(new Headers({ accept: "x" }))).toBe(false);
    expect(declaredLength(new Headers({ "content-length": "42" }))).toBe(42);
    expect(declaredLength(new Headers({ "content-length": "4x" }))).toBeUndefined();
    expect(declaredLength(new Headers())).toBeUndefined();
  });
});
