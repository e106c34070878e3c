import { describe, expect, it } from "vitest";
import { CachedResponse, type CacheEntry, CacheError } from "../../src/index.js";

const NOW = Date.UTC(2026, 0, 31, 12);

function entry(overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    key: ["GET", "42"],
    name: "Song 42",
    cachedAt: NOW - 1_000,
    expiresAt: NOW + 60_000,
    payload: '{"id":"42","name":"Song 42"}',
    status: 200,
    headers: JSON.stringify([
      ["cache-control", "private, max-age=0"],
      ["content-type", "application/json; charset=utf-8"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["x-request-id", "abc"],
    ]),
    url: "https://api.example.com/v1/tracks/42",
    ...overrides,
  };
}

describe("CachedResponse", () => {
  it("is a Response with the origin's status, status text, headers and URL", async () => {
    const response = new CachedResponse(entry(), { now: NOW });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(200);
    expect(response.statusText).toBe("OK");
    expect(response.ok).toBe(true);
    expect(response.url).toBe("https://api.example.com/v1/tracks/42");
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect([...response.headers.keys()]).toEqual([
      "cache-control",
      "content-type",
      "set-cookie",
      "set-cookie",
      "x-request-id",
    ]);
    expect(response.headers).toBe(response.headers);
    expect(await response.json()).toEqual({ id: "42", name: "Song 42" });
    expect(response.bodyUsed).toBe(true);
  });

  it("says it came from the cache, when, under which key and name, and whether it had expired", () => {
    const response = new CachedResponse(entry(), { now: NOW });
    expect(response.fromCache).toBe(true);
    expect(response.cachedAt).toEqual(new Date(NOW - 1_000));
    expect(response.expiresAt).toEqual(new Date(NOW + 60_000));
    expect(response.key).toEqual(["GET", "42"]);
    expect(response.name).toBe("Song 42");
    expect(response.stale).toBe(false);
    expect(new CachedResponse(entry(), { now: NOW + 60_000 }).stale).toBe(true);
    // Each read is a new Date: changing one changes nothing stored.
    response.cachedAt.setTime(0);
    expect(response.cachedAt).toEqual(new Date(NOW - 1_000));
  });

  it("reads its body as text, bytes, a blob with the stored type, or a stream", async () => {
    const text = '{"id":"42","name":"Song 42"}';
    expect(await new CachedResponse(entry()).text()).toBe(text);
    expect(new TextDecoder().decode(await new CachedResponse(entry()).arrayBuffer())).toBe(text);
    const blob = await new CachedResponse(entry()).blob();
    const plain = await new Response(text, { headers: { "content-type": "application/json; charset=utf-8" } }).blob();
    expect(blob.type).toBe(plain.type);
    expect(blob.type).toMatch(/^application\/json/);
    expect(await blob.text()).toBe(text);
    const chunks: Uint8Array[] = [];
    for await (const chunk of new CachedResponse(entry()).body as unknown as AsyncIterable<Uint8Array>)
      chunks.push(chunk);
    expect(new TextDecoder().decode(Buffer.concat(chunks))).toBe(text);
  });

  it("serves a bytes payload byte for byte", async () => {
    const payload = new Uint8Array([0, 1, 2, 250, 255]);
    const response = new CachedResponse(
      entry({ payload, headers: JSON.stringify([["content-type", "application/octet-stream"]]) }),
    );
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(payload);
  });

  it("clones into another CachedResponse with the same body, headers and URL", async () => {
    const response = new CachedResponse(entry(), { now: NOW });
    const copy = response.clone();
    expect(copy).toBeInstanceOf(CachedResponse);
    expect(copy).not.toBe(response);
    expect(copy.url).toBe(response.url);
    expect([...copy.headers]).toEqual([...response.headers]);
    expect(await copy.json()).toEqual(await response.json());
    expect(copy.cachedAt).toEqual(response.cachedAt);
  });

  it("clones the headers as they are now", () => {
    const response = new CachedResponse(entry());
    response.headers.set("x-added", "1");
    expect(response.clone().headers.get("x-added")).toBe("1");
  });

  it("refuses to clone a body that was read, as Response does", async () => {
    const response = new CachedResponse(entry());
    await response.text();
    const plain = new Response("x");
    await plain.text();
    const expected = (() => {
      try {
        plain.clone();
      } catch (error) {
        return error as TypeError;
      }
    })();
    expect(() => response.clone()).toThrow(TypeError);
    expect(() => response.clone()).toThrow(expected?.message ?? "never");
  });

  it("keeps the origin's status, with its standard reason phrase", () => {
    const response = new CachedResponse(entry({ status: 203 }));
    expect(response.status).toBe(203);
    expect(response.statusText).toBe("Non-Authoritative Information");
    expect(new CachedResponse(entry({ status: 299 })).statusText).toBe("");
  });

  it("has no body for a HEAD key or a status without one", async () => {
    expect(new CachedResponse(entry({ key: ["HEAD", "42"] })).body).toBeNull();
    const noContent = new CachedResponse(entry({ status: 204, payload: "" }));
    expect(noContent.body).toBeNull();
    expect(await noContent.text()).toBe("");
  });

  it("answers 200 with only the given Content-Type for an entry saved as a pair", async () => {
    const pair = entry({ status: null, headers: null, url: null });
    const response = new CachedResponse(pair, {
      url: "https://api.example.com/v1/tracks/42",
      contentType: "application/json",
    });
    expect(response.status).toBe(200);
    expect(response.statusText).toBe("OK");
    expect(response.url).toBe("https://api.example.com/v1/tracks/42");
    expect([...response.headers]).toEqual([["content-type", "application/json"]]);
    expect(await response.json()).toEqual({ id: "42", name: "Song 42" });
    const bare = new CachedResponse(pair);
    expect([...bare.headers]).toEqual([]);
    expect(bare.url).toBe("");
  });

  it("replaces stored headers of the same names with the pairs given in init, whatever their case", async () => {
    const response = new CachedResponse(entry(), {
      headers: [
        ["Age", "42"],
        ["Cache-Control", "max-age=60"],
        ["SET-COOKIE", "c=3"],
        ["set-cookie", "d=4"],
      ],
    });
    expect(response.headers.get("age")).toBe("42");
    expect(response.headers.get("cache-control")).toBe("max-age=60");
    expect(response.headers.getSetCookie()).toEqual(["c=3", "d=4"]);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("x-request-id")).toBe("abc");
    expect(response.clone().headers.get("age")).toBe("42");
    expect(await response.json()).toEqual({ id: "42", name: "Song 42" });
    const pair = new CachedResponse(entry({ headers: null }), {
      contentType: "application/json",
      headers: [["content-type", "text/plain"]],
    });
    expect([...pair.headers]).toEqual([["content-type", "text/plain"]]);
  });

  it("refuses init headers that are not [name, value] pairs with a TypeError", () => {
    const bad = [["age"]] as unknown as [string, string][];
    expect(() => new CachedResponse(entry(), { headers: bad })).toThrow(TypeError);
    expect(() => new CachedResponse(entry(), { headers: bad })).toThrow(/CachedResponseInit.headers.*\[name, value\]/);
  });

  it("does not add a Content-Type that the origin did not send", () => {
    const response = new CachedResponse(entry({ headers: JSON.stringify([["x-a", "1"]]) }));
    expect(response.headers.has("content-type")).toBe(false);
  });

  it.each([
    ["a status out of range", { status: 99 }, /not a final HTTP status/],
    ["a status that is not a number", { status: "200" as unknown as number }, /not a final HTTP status/],
    ["headers that are not JSON", { headers: "[[" }, /headers that are not JSON/],
    ["headers that are not a list", { headers: "{}" }, /not a list of pairs/],
    ["a header that is not a pair", { headers: '[["a","b","c"]]' }, /not a \[name, value\] pair/],
    ["a header value that is not text", { headers: '[["a",1]]' }, /not a \[name, value\] pair/],
    ["a payload that is neither text nor bytes", { payload: 5 as unknown as string }, /not text or bytes/],
  ])("refuses an entry with %s with a CacheError", (_, overrides, message) => {
    expect(() => new CachedResponse(entry(overrides))).toThrow(CacheError);
    expect(() => new CachedResponse(entry(overrides))).toThrow(message);
  });

  it("leaves out a stored header that Headers refuses, and keeps the rest", () => {
    const response = new CachedResponse(
      entry({
        headers: JSON.stringify([
          ["bad name", "x"],
          ["x-good", "1"],
        ]),
      }),
    );
    expect([...response.headers]).toEqual([["x-good", "1"]]);
  });

  describe("reads its body as Response does", () => {
    const payloads: [string, string | Uint8Array][] = [
      ["JSON text", '{"a":[1,2,"ü"]}'],
      ["text with a byte order mark", '\uFEFF{"a":1}'],
      ["text with a lone surrogate", '"\uD800x"'],
      ["text that is not JSON", "<html>"],
      ["bytes with a byte order mark", new Uint8Array([0xef, 0xbb, 0xbf, 0x31])],
      ["bytes that are not UTF-8", new Uint8Array([0x22, 0xff, 0x22])],
      ["nothing", ""],
    ];
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        (value) => ({ value }),
        (error: Error) => ({ error: error.constructor.name }),
      );

    it.each(payloads)("text() and json() of %s", async (_, payload) => {
      for (const method of ["text", "json"] as const) {
        const cached = new CachedResponse(entry({ payload }));
        const plain = new Response(payload);
        expect(await outcome(cached[method]())).toEqual(await outcome(plain[method]()));
        expect(cached.bodyUsed).toBe(true);
        expect(cached.body?.locked).toBe(plain.body?.locked);
      }
    });

    it("refuses to read a body twice, or one that is locked, with Response's error", async () => {
      const cached = new CachedResponse(entry());
      const plain = new Response("{}");
      await cached.json();
      await plain.json();
      expect(await outcome(cached.json())).toEqual(await outcome(plain.json()));
      expect(await outcome(cached.text())).toEqual({ error: "TypeError" });
      expect(() => cached.clone()).toThrow(TypeError);
      const locked = new CachedResponse(entry());
      locked.body?.getReader();
      expect(await outcome(locked.text())).toEqual({ error: "TypeError" });
    });

    it("still streams a body that was not taken", async () => {
      const cached = new CachedResponse(entry());
      const reader = cached.body?.getReader();
      const first = await reader?.read();
      expect(new TextDecoder().decode(first?.value)).toBe('{"id":"42","name":"Song 42"}');
    });
  });
});
