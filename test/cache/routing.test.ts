import { describe, expect, it } from "vitest";
import { defineSettings, MemoryCache, repositoryByPathSegment } from "../../src/index.js";

describe("repositoryByPathSegment", () => {
  const cache = new MemoryCache();
  const tracks = cache.createRepository(defineSettings({ name: "tracks", fields: ["id"], getKey: () => ["1"] }));
  const spaced = cache.createRepository(defineSettings({ name: "two words", fields: ["id"], getKey: () => ["1"] }));
  const route = (index: number, url: string) => repositoryByPathSegment(index)(cache, new URL(url));

  it("names the repository by the segment at its index, skipping empty segments", () => {
    expect(route(1, "https://api.example.com/v1/tracks/42")).toBe(tracks);
    expect(route(0, "https://api.example.com/tracks")).toBe(tracks);
    expect(route(0, "https://api.example.com/tracks/")).toBe(tracks);
    expect(route(1, "https://api.example.com//v1///tracks/42")).toBe(tracks);
    expect(route(2, "https://api.example.com/v1/x/tracks?id=1")).toBe(tracks);
  });

  it("decodes escapes, and a malformed escape or a missing segment names no repository", () => {
    expect(route(1, "https://api.example.com/v1/two%20words/1")).toBe(spaced);
    expect(route(1, "https://api.example.com/v1/%E0%A4%A/1")).toBeUndefined();
    expect(route(3, "https://api.example.com/v1/tracks/42")).toBeUndefined();
    expect(route(0, "https://api.example.com/")).toBeUndefined();
    expect(route(1, "https://api.example.com/v1/albums/42")).toBeUndefined();
  });
});
