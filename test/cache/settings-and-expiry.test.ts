import { describe, expect, it } from "vitest";
import { addExpire, validateExpire } from "../../src/duration.js";
import {
  CacheError,
  defineSettings,
  JSONPayloadHandler,
  MemoryCache,
  ResponseRepositorySettings,
  StringPayloadHandler,
} from "../../src/index.js";

describe("settings", () => {
  it("default to the string payload handler and store no name", async () => {
    const settings = defineSettings({ name: "plain", fields: ["id"], getKey: () => ["x"] });
    expect(settings.payloadHandler).toBeInstanceOf(StringPayloadHandler);
    expect(settings.getName("anything")).toBeUndefined();
    expect(settings.namesPayloads).toBe(false);
    const named = defineSettings({ name: "named", fields: ["id"], getKey: () => ["x"], getName: (p: string) => p });
    expect(named.namesPayloads).toBe(true);
    expect(named.getName("payload")).toBe("payload");
  });

  it("work as a subclass, with fields and getKey of their own", async () => {
    class ById extends ResponseRepositorySettings<unknown> {
      readonly fields = ["id"];
      getKey({ url }: { url: URL }) {
        return [url.searchParams.get("id")];
      }
    }
    const cache = await new MemoryCache().connect();
    const repo = cache.createRepository(new ById({ name: "by-id", payloadHandler: new JSONPayloadHandler() }));
    await repo.create();
    expect(repo.getKeyFromRequest({ method: "get", url: "https://x.test/?id=7" })).toEqual(["GET", "7"]);
    expect(repo.getKeyFromRequest({ method: "GET", url: "https://x.test/" })).toBeUndefined();
    await cache.close();
  });

  it("refuse bad definitions with a TypeError that names the option", () => {
    expect(() => defineSettings({ name: 3 as never, fields: [], getKey: () => [] })).toThrow(/settings.name/);
    expect(() => defineSettings({ name: "x", fields: "id" as never, getKey: () => [] })).toThrow(/settings.fields/);
    expect(() => defineSettings({ name: "x", fields: [], getKey: "no" as never })).toThrow(/settings.getKey/);
    expect(() => defineSettings({ name: "x", fields: [], getKey: () => [], getName: 1 as never })).toThrow(
      /settings.getName/,
    );
  });

  it("make a getKey of the wrong length, or a key part of the wrong type, a CacheError", async () => {
    const cache = await new MemoryCache().connect();
    const wrongLength = cache.createRepository(defineSettings({ name: "a", fields: ["id", "v"], getKey: () => ["x"] }));
    expect(() => wrongLength.getKeyFromRequest({ method: "GET", url: "https://x.test/" })).toThrow(CacheError);
    const wrongType = cache.createRepository(
      defineSettings({ name: "b", fields: ["id"], getKey: () => [{ id: 1 } as never] }),
    );
    expect(() => wrongType.getKeyFromRequest({ method: "GET", url: "https://x.test/" })).toThrow(/finite number/);
    const nan = cache.createRepository(defineSettings({ name: "c", fields: ["id"], getKey: () => [Number.NaN] }));
    expect(() => nan.getKeyFromRequest({ method: "GET", url: "https://x.test/" })).toThrow(CacheError);
    expect(() => nan.getKeyFromRequest({ method: "GET", url: "not a url" })).toThrow(/absolute URL/);
    expect(() => nan.getKeyFromRequest({ method: "", url: "https://x.test" })).toThrow(/request.method/);
    await cache.close();
  });
});

describe("expiry", () => {
  const jan31 = Date.UTC(2024, 0, 31, 8, 30);

  it("adds milliseconds and fixed units exactly", () => {
    expect(addExpire(1_000, 500)).toBe(1_500);
    expect(addExpire(0, { weeks: 2 })).toBe(14 * 86_400_000);
    expect(addExpire(0, { days: 1, hours: 2, minutes: 3, seconds: 4, milliseconds: 5 })).toBe(93_784_005);
  });

  it("adds months and years by the calendar, clamping to the month's last day", () => {
    expect(addExpire(jan31, { months: 1 })).toBe(Date.UTC(2024, 1, 29, 8, 30)); // leap year
    expect(addExpire(jan31, { months: 13 })).toBe(Date.UTC(2025, 1, 28, 8, 30));
    expect(addExpire(Date.UTC(2024, 1, 29), { years: 1 })).toBe(Date.UTC(2025, 1, 28));
    expect(addExpire(jan31, { months: 2, days: 1 })).toBe(Date.UTC(2024, 2, 31, 8, 30) + 86_400_000);
  });

  it("refuses expiries that are not positive and finite, naming the option", () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, {}, { weeks: 0 }, { days: -2 }, { months: 1.5 }]) {
      expect(() => validateExpire(bad)).toThrow(RangeError);
    }
    expect(() => validateExpire("1h", "cache.expire")).toThrow(/cache.expire must be milliseconds/);
    expect(() => validateExpire({ fortnight: 1 })).toThrow(/unknown unit "fortnight"/);
    expect(validateExpire({ months: 1 })).toEqual({ months: 1 });
  });
});
