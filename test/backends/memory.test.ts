import { describe, expect, it } from "vitest";
import { CacheError, DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, defineSettings, MemoryCache } from "../../src/index.js";

const settings = (name: string) => defineSettings({ name, fields: ["id"], getKey: () => [null] });

describe("memory: bounds", () => {
  it("documents its defaults", () => {
    expect(DEFAULT_MAX_ENTRIES).toBe(10_000);
    expect(DEFAULT_MAX_BYTES).toBe(64 * 1024 * 1024);
  });

  it("evicts the least recently used entries past maxEntries, across repositories", async () => {
    const cache = new MemoryCache({ maxEntries: 3 });
    const a = cache.createRepository(settings("a"));
    const b = cache.createRepository(settings("b"));
    await cache.connect();
    await a.saveResponse([["GET", "1"], "a1"]);
    await a.saveResponse([["GET", "2"], "a2"]);
    await b.saveResponse([["GET", "1"], "b1"]);
    expect(await a.getResponse(["GET", "1"])).toBe("a1"); // a1 is now the most recently used
    await b.saveResponse([["GET", "2"], "b2"]); // evicts a2, the least recently used
    expect(cache.entryCount).toBe(3);
    expect(await a.getResponse(["GET", "2"])).toBeUndefined();
    expect(await a.getResponse(["GET", "1"])).toBe("a1");
    expect(await a.count()).toBe(1);
    expect(await b.count()).toBe(2);
  });

  it("evicts past maxBytes, least recently used first", async () => {
    const cache = new MemoryCache({ maxBytes: 4_000 });
    const repo = cache.createRepository(settings("r"));
    await cache.connect();
    await repo.saveResponse([["GET", "small1"], "x".repeat(1_000)]);
    await repo.saveResponse([["GET", "small2"], "x".repeat(1_000)]);
    await repo.saveResponse([["GET", "small3"], "x".repeat(1_000)]);
    expect(cache.byteCount).toBeLessThanOrEqual(4_000);
    await repo.saveResponse([["GET", "small4"], "x".repeat(1_000)]);
    expect(cache.byteCount).toBeLessThanOrEqual(4_000);
    expect(await repo.contains(["GET", "small1"])).toBe(false);
    expect(await repo.contains(["GET", "small4"])).toBe(true);
  });

  it("refuses an entry larger than maxBytes before evicting anything, and keeps what it held", async () => {
    const cache = new MemoryCache({ maxBytes: 1_000_000 });
    const repo = cache.createRepository(settings("r"));
    await cache.connect();
    await repo.saveResponses(Array.from({ length: 50 }, (_, i) => [["GET", `s${i}`], `small ${i}`] as const));
    await repo.saveResponse([["GET", "big"], "old"]);
    const before = cache.byteCount;
    const huge = "y".repeat(2_000_000);
    await expect(repo.saveResponse([["GET", "big"], huge])).rejects.toThrow(CacheError);
    await expect(repo.saveResponse([["GET", "big"], huge])).rejects.toThrow(/larger than maxBytes \(1000000\)/);
    await expect(
      repo.saveResponses([
        [["GET", "s0"], "new"],
        [["GET", "big"], huge],
      ]),
    ).rejects.toThrow(CacheError);
    expect(cache.entryCount).toBe(51);
    expect(cache.byteCount).toBe(before);
    expect(await repo.getResponse(["GET", "s0"])).toBe("small 0");
    expect(await repo.getResponse(["GET", "big"])).toBe("old");
  });

  it("counts text as V8 holds it: one byte a character up to U+00FF, two for a string with any other", async () => {
    const cache = new MemoryCache();
    const repo = cache.createRepository(settings("r"));
    await cache.connect();
    const size = async (payload: string) => {
      await repo.clear();
      await repo.saveResponse([["GET", "a"], payload]);
      return cache.byteCount;
    };
    const ascii = await size("e".repeat(1_000_000));
    expect(ascii).toBeLessThan(1_001_000);
    expect(await size("é".repeat(1_000_000))).toBe(ascii);
    // One emoji in a mebibyte of ASCII: V8 holds the whole string at two bytes a character.
    expect(await size(`${"a".repeat(1_048_576)}😀`)).toBeGreaterThanOrEqual(2 * (1_048_576 + 2));
  });

  it("refuses bounds that are not positive, naming the option", () => {
    expect(() => new MemoryCache({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => new MemoryCache({ maxEntries: 1.5 })).toThrow(RangeError);
    expect(() => new MemoryCache({ maxBytes: Number.NaN })).toThrow(/maxBytes/);
  });

  it("refuses options it does not take, naming the ones it does", () => {
    expect(() => new MemoryCache({ busyTimeout: 5 } as never)).toThrow(TypeError);
    expect(() => new MemoryCache({ maxByte: 5 } as never)).toThrow(/no option "maxByte".*maxEntries, maxBytes/);
  });
});
