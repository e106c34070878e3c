import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CachedResponse,
  CachedSession,
  type CachedSessionOptions,
  type CacheErrorKind,
  MemoryCache,
  PayloadHandlerError,
  repositoryByPathSegment,
  type SessionEvent,
} from "../../src/index.js";
import { send, startServer, type TestServer } from "../helpers/http-server.js";
import { addRepositories } from "../helpers/session.js";

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.close();
});

let unique = 0;
function fresh(kind = "tracks"): { url: string; path: string } {
  const path = `/v1/${kind}/l${++unique}`;
  return { url: server.url(path), path };
}

async function open(options: Omit<CachedSessionOptions, "cache"> = {}) {
  const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
  addRepositories(cache);
  await cache.connect();
  const events: SessionEvent[] = [];
  const errors: [unknown, CacheErrorKind][] = [];
  const session = new CachedSession({
    cache,
    logger: null,
    onEvent: (event) => events.push(event),
    onError: (error, { kind }) => errors.push([error, kind]),
    ...options,
  });
  return { session, events, errors };
}

function notStored(events: SessionEvent[]): string[] {
  return events.flatMap((event) => (event.type === "not-stored" ? [event.reason] : []));
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe("the maximum entry size", () => {
  const limit = 10_000;
  const body = (size: number) => JSON.stringify({ data: "z".repeat(size - 11) });

  it("passes a response that declares a larger Content-Length through whole, and does not store it", async () => {
    const { session, events } = await open({ maxEntrySize: limit });
    const { url, path } = fresh();
    const text = body(limit + 1);
    server.on(path, (_, response) => send(response, text, { headers: { "content-type": "application/json" } }));
    const response = await session.fetch(url);
    expect(response.headers.get("content-length")).toBe(String(limit + 1));
    expect(await response.text()).toBe(text);
    expect(await (await session.fetch(url)).text()).toBe(text);
    expect(server.count(path)).toBe(2);
    expect(notStored(events)).toEqual(["too-large", "too-large"]);
  });

  it("stops buffering a streamed body at the limit, and gives the caller all of it", async () => {
    const { session, events } = await open({ maxEntrySize: limit });
    const { url, path } = fresh();
    const gate = deferred();
    const head = `{"data":"${"q".repeat(limit)}`;
    const tail = `${"r".repeat(limit)}"}`;
    server.on(path, async (_, response) => {
      response.writeHead(200, { "content-type": "application/json" }); // chunked: no Content-Length
      response.write(head);
      await gate.promise;
      response.end(tail);
    });
    // fetch resolves while the server still holds back the end: the body was not waited for.
    const response = await session.fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBeNull();
    gate.resolve();
    expect(await response.text()).toBe(head + tail);
    expect(notStored(events)).toEqual(["too-large"]);
    server.on(path, (_, reply) => send(reply, "{}", { headers: { "content-type": "application/json" } }));
    expect(await session.fetch(url)).not.toBeInstanceOf(CachedResponse);
    expect(server.count(path)).toBe(2);
  });

  it("stores a body of exactly the limit", async () => {
    const { session } = await open({ maxEntrySize: limit });
    const { url, path } = fresh();
    const text = body(limit);
    server.on(path, (_, response) => send(response, text, { headers: { "content-type": "application/json" } }));
    await (await session.fetch(url)).arrayBuffer();
    const hit = await session.fetch(url);
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(await hit.text()).toBe(text);
  });

  it("defaults to 5 MiB", async () => {
    const { session } = await open();
    const { url, path } = fresh("files");
    const big = new Uint8Array(5 * 1024 * 1024 + 1);
    server.on(path, (_, response) => send(response, big));
    expect((await (await session.fetch(url)).arrayBuffer()).byteLength).toBe(big.byteLength);
    expect(await session.fetch(url)).not.toBeInstanceOf(CachedResponse);
    const fits = fresh("files");
    server.on(fits.path, (_, response) => send(response, big.subarray(1)));
    await (await session.fetch(fits.url)).arrayBuffer();
    expect(await session.fetch(fits.url)).toBeInstanceOf(CachedResponse);
  });
});

describe("bodies the payload handler cannot store exactly", () => {
  it("returns a body that is not JSON under a JSON handler untouched, and does not store it", async () => {
    const { session, errors } = await open();
    const { url, path } = fresh("tracks");
    const html = "<html><body>Service temporarily unavailable</body></html>";
    server.on(path, (_, response) => send(response, html, { headers: { "content-type": "text/html" } }));
    const response = await session.fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html");
    expect(await response.text()).toBe(html);
    expect(errors.map(([error, kind]) => [kind, error instanceof PayloadHandlerError])).toEqual([["payload", true]]);
    expect(await (await session.fetch(url)).text()).toBe(html);
    expect(server.count(path)).toBe(2);
  });

  it.each([
    ["JSON that is not UTF-8", "tracks", new Uint8Array([0x22, 0xff, 0xfe, 0x22])],
    ["text that is not UTF-8", "pages", new Uint8Array([0x63, 0x61, 0x66, 0xe9])],
  ])("returns %s untouched, and does not store what would come back changed", async (_, kind, bytes) => {
    const { session, errors } = await open();
    const { url, path } = fresh(kind);
    server.on(path, (_, response) => send(response, bytes, { headers: { "content-type": "application/json" } }));
    expect(new Uint8Array(await (await session.fetch(url)).arrayBuffer())).toEqual(bytes);
    expect(errors.map(([error, kind]) => [kind, error instanceof PayloadHandlerError])).toEqual([["payload", true]]);
    expect(new Uint8Array(await (await session.fetch(url)).arrayBuffer())).toEqual(bytes);
    expect(server.count(path)).toBe(2);
  });

  it("stores text with a byte order mark under a text handler, and gives it back byte for byte", async () => {
    const { session, errors } = await open();
    const { url, path } = fresh("pages");
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9]);
    server.on(path, (_, response) =>
      send(response, bytes, { headers: { "content-type": "text/plain; charset=utf-8" } }),
    );
    const expected = await (await fetch(url)).text();
    expect(expected).toBe("hé");
    expect(await (await session.fetch(url)).text()).toBe(expected);
    const hit = await session.fetch(url);
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(await hit.clone().text()).toBe(expected);
    expect(new Uint8Array(await hit.arrayBuffer())).toEqual(bytes);
    expect(errors).toEqual([]);
  });

  it("stores JSON with a byte order mark, which Response.json() accepts, and gives it back byte for byte", async () => {
    const { session, errors } = await open();
    const { url, path } = fresh("tracks");
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]);
    server.on(path, (_, response) => send(response, bytes, { headers: { "content-type": "application/json" } }));
    expect(new Uint8Array(await (await session.fetch(url)).arrayBuffer())).toEqual(bytes);
    const hit = await session.fetch(url);
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(await hit.clone().json()).toEqual({});
    expect(new Uint8Array(await hit.arrayBuffer())).toEqual(bytes);
    expect(server.count(path)).toBe(1);
    expect(errors).toEqual([]);
  });

  it("stores any bytes under a bytes handler", async () => {
    const { session } = await open();
    const { url } = fresh("files");
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0xff, 0x00]);
    server.on(new URL(url).pathname, (_, response) => send(response, bytes));
    await (await session.fetch(url)).arrayBuffer();
    const hit = await session.fetch(url);
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(new Uint8Array(await hit.arrayBuffer())).toEqual(bytes);
  });
});

describe("network failures", () => {
  it("hands the caller a body that fails as fetch's would, and stores nothing", async () => {
    const { session, errors, events } = await open();
    const { url, path } = fresh();
    server.on(path, async (_, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      response.write('{"partial":');
      await new Promise((resolve) => setTimeout(resolve, 20));
      response.destroy();
    });
    const plain = await fetch(url);
    const plainError = await plain.text().then(
      () => undefined,
      (error: unknown) => error,
    );
    const response = await session.fetch(url);
    const error = await response.text().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(plainError).toBeInstanceOf(TypeError);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe((plainError as TypeError).message);
    expect(notStored(events)).toEqual(["incomplete"]);
    expect(errors).toEqual([]);
  });

  it("rejects like fetch when the server cannot be reached", async () => {
    const { session, errors } = await open();
    const url = "http://127.0.0.1:1/v1/tracks/unreachable";
    const plain = await fetch(url).catch((error: unknown) => error);
    const failure = await session.fetch(url).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).message).toBe((plain as TypeError).message);
    expect(errors).toEqual([]);
  });

  it("sends waiters to the network on their own when the request they wait for fails", async () => {
    const { session } = await open();
    const { url, path } = fresh();
    server.on(path, async (request, response, hit) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      if (hit === 1) request.socket.destroy();
      else send(response, JSON.stringify({ hit }), { headers: { "content-type": "application/json" } });
    });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => session.fetch(url)));
    expect(results[0]?.status).toBe("rejected");
    for (const result of results.slice(1)) {
      expect(result.status).toBe("fulfilled");
      const body = (await (result as PromiseFulfilledResult<Response>).value.json()) as { hit: number };
      expect(body.hit).toBeGreaterThan(1);
    }
    expect(server.count(path)).toBe(5);
  });

  it("lets a waiter's own abort signal end its wait", async () => {
    const { session } = await open();
    const { url, path } = fresh();
    const gate = deferred();
    server.on(path, async (_, response) => {
      await gate.promise;
      send(response, "{}", { headers: { "content-type": "application/json" } });
    });
    const leader = session.fetch(url);
    const controller = new AbortController();
    const waiter = session.fetch(url, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const reason = new Error("gave up");
    controller.abort(reason);
    await expect(waiter).rejects.toBe(reason);
    gate.resolve();
    expect(await (await leader).json()).toEqual({});
    expect(server.count(path)).toBe(1);
  });
});
