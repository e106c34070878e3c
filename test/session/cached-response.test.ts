import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CachedResponse,
  type CachedResponseInit,
  CachedSession,
  type CacheEntry,
  CacheError,
  MemoryCache,
  repositoryByPathSegment,
  StringPayloadHandler,
} from "../../src/index.js";
import { json, startServer, type TestServer } from "../helpers/http-server.js";
import { byId } from "../helpers/session.js";

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
    meta: null,
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

  it("takes header fields from init that replace the stored ones, and reads Age and Cache-Status from them", async () => {
    const headers = [
      ["age", "12"],
      ["cache-status", "requestful; hit; ttl=48"],
      ["x-request-id", "refreshed"],
    ] as const;
    const response = new CachedResponse(entry(), { now: NOW, headers, stale: true });
    expect(response.age).toBe(12);
    expect(response.cacheStatus).toBe("requestful; hit; ttl=48");
    expect(response.stale).toBe(true);
    expect(response.headers.get("age")).toBe("12");
    expect(response.headers.get("x-request-id")).toBe("refreshed");
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const copy = response.clone();
    expect(copy.age).toBe(12);
    expect([...copy.headers]).toEqual([...response.headers]);
    expect(await copy.json()).toEqual({ id: "42", name: "Song 42" });
    const plain = new CachedResponse(entry(), { now: NOW });
    expect(plain.age).toBe(0);
    expect(plain.cacheStatus).toBeNull();
    expect(plain.stale).toBe(false);
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

  describe("behaves as a response over its body to anything that looks", () => {
    const text = '{"id":"42","name":"Song 42"}';
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        (value) => ({ value }),
        (error: Error) => ({ error: error.constructor.name, message: error.message }),
      );
    const reads = ["text", "json", "arrayBuffer", "blob", "bytes"] as const;
    const value = async (read: unknown) => {
      if (read instanceof Blob) return { type: read.type, text: await read.text() };
      if (read instanceof ArrayBuffer) return { buffer: new TextDecoder().decode(read), size: read.byteLength };
      if (read instanceof Uint8Array) return { bytes: new TextDecoder().decode(read), size: read.byteLength };
      return read;
    };
    const plainOf = () => new Response(text, { headers: { "content-type": "application/json; charset=utf-8" } });
    /** `response[name]()`, for the methods that Node 20's types do not all list (`bytes`). */
    const read = (response: Response, name: (typeof reads)[number]): Promise<unknown> =>
      (response as unknown as Record<string, () => Promise<unknown>>)[name]?.() ?? Promise.reject(new Error(name));

    it.each(reads)("Response.prototype.%s called on it reads the body, and then the body is used", async (name) => {
      const cached = new CachedResponse(entry());
      const plain = plainOf();
      const direct = (Response.prototype as unknown as Record<string, (this: Response) => Promise<unknown>>)[name];
      if (direct === undefined) return;
      expect(await value(await direct.call(cached))).toEqual(await value(await direct.call(plain)));
      expect(cached.bodyUsed).toBe(true);
      expect(Object.getOwnPropertyDescriptor(Response.prototype, "bodyUsed")?.get?.call(cached)).toBe(true);
      expect(await outcome(read(cached, name))).toEqual(await outcome(read(plain, name)));
      expect(await outcome(direct.call(cached))).toEqual(await outcome(direct.call(plain)));
    });

    it.each(reads)("%s() twice fails the second time with Response's error", async (name) => {
      const cached = new CachedResponse(entry());
      const plain = plainOf();
      expect(await value(await read(cached, name))).toEqual(await value(await read(plain, name)));
      expect(await outcome(read(cached, name))).toEqual(await outcome(read(plain, name)));
      for (const other of reads) expect(await outcome(read(cached, other))).toEqual(await outcome(read(plain, other)));
    });

    it("has a used, locked body stream after a read, as Response has", async () => {
      const cached = new CachedResponse(entry());
      const plain = plainOf();
      expect(cached.bodyUsed).toBe(false);
      await cached.json();
      await plain.json();
      expect(cached.bodyUsed).toBe(true);
      expect(cached.body).toBeInstanceOf(ReadableStream);
      expect(cached.body?.locked).toBe(plain.body?.locked);
      expect(cached.body).toBe(cached.body);
      expect(cached.bodyUsed).toBe(true);
      expect(await outcome(cached.text())).toEqual(await outcome(plain.text()));
    });

    it("reads the body through its stream once the stream was touched", async () => {
      const cached = new CachedResponse(entry());
      const stream = cached.body;
      expect(stream).toBeInstanceOf(ReadableStream);
      expect(cached.bodyUsed).toBe(false);
      expect(await cached.json()).toEqual({ id: "42", name: "Song 42" });
      expect(cached.bodyUsed).toBe(true);
      expect(stream?.locked).toBe(true);
      expect(await outcome(cached.json())).toEqual({ error: "TypeError", message: expect.any(String) });
    });

    it("clones, and both the response and its clone read the whole body, in either order", async () => {
      const cached = new CachedResponse(entry());
      const copy = cached.clone();
      expect(await copy.text()).toBe(text);
      expect(cached.bodyUsed).toBe(false);
      expect(await cached.text()).toBe(text);
      expect(copy.clone).toThrow(TypeError);
      const streamed = new CachedResponse(entry());
      void streamed.body;
      const second = streamed.clone();
      expect(await streamed.json()).toEqual(await second.json());
      const viaPrototype = Response.prototype.clone.call(new CachedResponse(entry()));
      expect(viaPrototype).toBeInstanceOf(Response);
      expect(viaPrototype.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(await viaPrototype.text()).toBe(text);
    });

    it("refuses to clone a body whose stream is locked, with Response's error", () => {
      const cached = new CachedResponse(entry());
      cached.body?.getReader();
      const plain = plainOf();
      plain.body?.getReader();
      expect(() => cached.clone()).toThrow(
        (() => {
          try {
            plain.clone();
          } catch (error) {
            return (error as Error).message;
          }
          return "never";
        })(),
      );
    });

    it("gives a copy of stored bytes to each read, never the stored array", async () => {
      const payload = new Uint8Array([1, 2, 3]);
      const stored = entry({ payload, headers: "[]" });
      const bytes = (await read(new CachedResponse(stored), "bytes")) as Uint8Array;
      bytes[0] = 9;
      const buffer = new Uint8Array(await new CachedResponse(stored).arrayBuffer());
      buffer[1] = 9;
      expect(payload).toEqual(new Uint8Array([1, 2, 3]));
      expect(buffer.byteLength).toBe(3);
      expect(await new CachedResponse(stored).text()).toBe("\u0001\u0002\u0003");
    });

    it.each([
      ["application/json; charset=utf-8"],
      ['Text/HTML; Charset="UTF-8"'],
      ["not a type"],
      ["text/plain, application/json"],
      [null],
    ])("gives a blob the type Response gives it for Content-Type %s", async (contentType) => {
      const headers = contentType === null ? [] : [["content-type", contentType]];
      const stored = entry({ headers: JSON.stringify(headers) });
      // A network response over bytes: no Content-Type but the origin's.
      const plain = new Response(new TextEncoder().encode(text), { headers: headers as [string, string][] });
      const expected = (await plain.blob()).type;
      expect((await new CachedResponse(stored).blob()).type).toBe(expected);
      expect((await Response.prototype.blob.call(new CachedResponse(stored))).type).toBe(expected);
    });

    it.each([
      ["a HEAD key", { key: ["HEAD", "42"] as const }, 200],
      ["a 204", { status: 204, payload: "" }, 204],
      ["a 304", { status: 304, payload: "" }, 304],
    ])("has a null body for %s, as Response has, whatever reads it", async (_, overrides, status) => {
      const cached = new CachedResponse(entry(overrides as Partial<CacheEntry>));
      const plain = new Response(null, { status, headers: { "content-type": "application/json; charset=utf-8" } });
      expect(cached.status).toBe(status);
      expect(cached.body).toBeNull();
      for (const name of reads) {
        const [mine, theirs] = [await outcome(read(cached, name)), await outcome(read(plain, name))];
        if ("value" in mine && "value" in theirs) expect(await value(mine.value)).toEqual(await value(theirs.value));
        else expect(mine).toEqual(theirs);
        expect(cached.bodyUsed).toBe(plain.bodyUsed);
      }
      expect(cached.clone().body).toBeNull();
      expect(cached.headers.get("content-type")).toBe("application/json; charset=utf-8");
    });
  });

  describe("CachedResponse.from", () => {
    const payload = JSON.stringify([{ id: 72, type: "programming" }]);
    const url = "https://official-joke-api.appspot.com/jokes/programming/random";

    it("builds a response from a request and a payload", async () => {
      const response = CachedResponse.from(new Request(url), payload, { contentType: "application/json", now: NOW });
      expect(response).toBeInstanceOf(CachedResponse);
      expect(response.status).toBe(200);
      expect(response.url).toBe(url);
      expect(response.key).toEqual(["GET", url]);
      expect(response.cachedAt).toEqual(new Date(NOW));
      expect(response.stale).toBe(false);
      expect([...response.headers]).toEqual([["content-type", "application/json"]]);
      expect(await response.json()).toEqual([{ id: 72, type: "programming" }]);
    });

    it("takes a URL or a { method, url } descriptor, bytes, a status, headers and an expiry", async () => {
      const bytes = CachedResponse.from(new URL(url), new Uint8Array([104, 105]));
      expect(bytes.key).toEqual(["GET", url]);
      expect(await bytes.text()).toBe("hi");
      expect([...bytes.headers]).toEqual([]);
      const described = CachedResponse.from({ method: "post", url }, payload, {
        status: 203,
        headers: [["x-a", "1"]],
        expiresAt: NOW,
        now: NOW,
      });
      expect(described.key).toEqual(["POST", url]);
      expect(described.status).toBe(203);
      expect(described.headers.get("x-a")).toBe("1");
      expect(described.stale).toBe(true);
    });

    it.each([
      [
        "a payload that is not text or bytes",
        () => CachedResponse.from(url, { a: 1 } as unknown as string),
        TypeError,
        /JSON.stringify/,
      ],
      ["a relative URL", () => CachedResponse.from("/jokes", payload), TypeError, /absolute URL/],
      [
        "something that is not a request",
        () => CachedResponse.from(5 as unknown as string, payload),
        TypeError,
        /a Request, a URL or \{ method, url \}/,
      ],
      ["a status out of range", () => CachedResponse.from(url, payload, { status: 99 }), RangeError, /200 to 599/],
    ])("refuses %s", (_, build, type, message) => {
      expect(build).toThrow(type);
      expect(build).toThrow(message);
    });

    it("is the form the constructor points to when given a request and a payload", () => {
      const build = () => new CachedResponse(new Request(url) as unknown as CacheEntry, {} as CachedResponseInit);
      expect(build).toThrow(TypeError);
      expect(build).toThrow(/CachedResponse\.from\(request, payload, init\?\)/);
      expect(() => new CachedResponse(payload as unknown as CacheEntry)).toThrow(/takes a stored CacheEntry/);
    });
  });

  describe("a network response that the session read to store behaves as fetch's own", () => {
    let server: TestServer;
    let session: CachedSession;
    const body = { id: "7", tags: ["a", "ü"] };
    beforeAll(async () => {
      server = await startServer();
      const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
      cache.createRepository(byId("tracks", new StringPayloadHandler()));
      session = new CachedSession({ cache });
    });
    afterAll(async () => {
      await session.close();
      await server.close();
    });
    let n = 0;
    /** A path of the server that answers `body`. */
    const path = (prefix: string) => {
      const at = `${prefix}${n++}`;
      server.on(at, (_, response) =>
        json(response, body, { headers: { "content-type": "application/json; charset=utf-8" } }),
      );
      return server.url(at);
    };
    /** A response from the network, read by the session to store it. */
    const miss = async () => {
      const response = await session.fetch(path("/v1/tracks/"));
      expect(response).not.toBeInstanceOf(CachedResponse);
      return response;
    };
    const plain = () => fetch(path("/plain/"));
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        (value) => ({ value }),
        (error: Error) => ({ error: error.constructor.name, message: error.message }),
      );

    it("reads through Response.prototype methods, and then is used, with fetch's errors", async () => {
      for (const name of ["text", "json", "arrayBuffer", "blob"] as const) {
        const mine = await miss();
        const theirs = await plain();
        const read = Response.prototype[name] as (this: Response) => Promise<unknown>;
        const [a, b] = [await read.call(mine), await read.call(theirs)];
        if (a instanceof Blob && b instanceof Blob) {
          expect(a.type).toBe(b.type);
          expect(await a.text()).toBe(await b.text());
        } else if (a instanceof ArrayBuffer && b instanceof ArrayBuffer)
          expect(new Uint8Array(a)).toEqual(new Uint8Array(b));
        else expect(a).toEqual(b);
        expect(mine.bodyUsed).toBe(true);
        expect(await outcome(mine[name]())).toEqual(await outcome(theirs[name]()));
      }
    });

    it("reads once with its own methods, then has a used, locked stream", async () => {
      const mine = await miss();
      const theirs = await plain();
      expect(mine.bodyUsed).toBe(false);
      expect(await mine.json()).toEqual(body);
      await theirs.json();
      expect(mine.bodyUsed).toBe(true);
      expect(mine.body?.locked).toBe(theirs.body?.locked);
      expect(await outcome(mine.text())).toEqual(await outcome(theirs.text()));
      expect(() => mine.clone()).toThrow(TypeError);
    });

    it("clones, and both read the whole body; a streamed body streams", async () => {
      const mine = await miss();
      const copy = mine.clone();
      expect(copy.url).toBe(mine.url);
      expect(copy.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(await copy.json()).toEqual(body);
      expect(await mine.json()).toEqual(body);
      const streamed = await miss();
      const text = await new Response(streamed.body).text();
      expect(JSON.parse(text)).toEqual(body);
      expect(streamed.bodyUsed).toBe(true);
    });
  });
});
