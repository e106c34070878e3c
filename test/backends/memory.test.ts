import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, defineSettings, MemoryCache } from "../../src/index.js";

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

  it("evicts past maxBytes, and drops an entry larger than the whole budget at once", async () => {
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
    await repo.saveResponse([["GET", "huge"], "y".repeat(10_000)]);
    expect(await repo.contains(["GET", "huge"])).toBe(false);
    expect(cache.byteCount).toBeLessThanOrEqual(4_000);
  });

  it("counts multi-byte text by its UTF-8 size", async () => {
    const cache = new MemoryCache();
    const repo = cache.createRepository(settings("r"));
    await cache.connect();
    await repo.saveResponse([["GET", "a"], "é".repeat(1_000)]);
    const oneByte = cache.byteCount;
    await repo.clear();
    expect(cache.byteCount).toBe(0);
    await repo.saveResponse([["GET", "a"], "e".repeat(1_000)]);
    expect(oneByte - cache.byteCount).toBe(1_000);
  });

  it("refuses bounds that are not positive, naming the option", () => {
    expect(() => new MemoryCache({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => new MemoryCache({ maxEntries: 1.5 })).toThrow(RangeError);
    expect(() => new MemoryCache({ maxBytes: Number.NaN })).toThrow(/maxBytes/);
  });
});
