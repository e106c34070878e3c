/**
 * The response a session gives for a miss carries the origin's header fields exactly, however it is
 * read: its headers are copied into the header list only when something needs them, and before
 * anything of `Response`'s own reads the body.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse, CachedSession, MemoryCache } from "../../src/index.js";
import { startServer, type TestServer } from "../helpers/http-server.js";

let server: TestServer;
let unique = 0;
const BODY = JSON.stringify({ id: 7, name: "seven" });
const HEADERS: Record<string, string | string[]> = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "max-age=600",
  "x-trace": "abc",
  "set-cookie": ["a=1; Path=/", "b=2; Path=/"],
};

beforeAll(async () => {
  server = await startServer();
});

/** A new URL of the server that answers with {@link BODY} and {@link HEADERS}. */
function itemUrl(): string {
  const path = `/item/${++unique}`;
  server.on(path, (_request, response) => {
    response.writeHead(200, { "content-length": String(Buffer.byteLength(BODY)), ...HEADERS });
    response.end(BODY);
  });
  return server.url(path);
}
afterAll(() => server.close());

/** A miss of a session of its own (nothing stored yet), and the session. */
async function miss(): Promise<{ response: Response; session: CachedSession }> {
  const session = new CachedSession({ cache: new MemoryCache() });
  const response = await session.fetch(itemUrl());
  expect(response).not.toBeInstanceOf(CachedResponse);
  return { response, session };
}

function expectOriginHeaders(headers: Headers): void {
  expect(headers.get("content-type")).toBe("application/json; charset=utf-8");
  expect(headers.get("x-trace")).toBe("abc");
  expect(headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
}

describe("a miss's header fields", () => {
  it("are all there when read before the body, after it, or never", async () => {
    const before = await miss();
    expectOriginHeaders(before.response.headers);
    expect(await before.response.json()).toEqual({ id: 7, name: "seven" });
    const after = await miss();
    expect(await after.response.text()).toBe(BODY);
    expectOriginHeaders(after.response.headers);
    await Promise.all([before.session.close(), after.session.close()]);
  });

  it("reach a copy made by Response.prototype.clone called directly, and one made with new Response(body, response)", async () => {
    const { response, session } = await miss();
    const copy = Response.prototype.clone.call(response);
    expectOriginHeaders(copy.headers);
    expect(await copy.json()).toEqual({ id: 7, name: "seven" });
    const second = await miss();
    const rebuilt = new Response(second.response.body, second.response);
    expectOriginHeaders(rebuilt.headers);
    expect(rebuilt.status).toBe(200);
    expect(await rebuilt.text()).toBe(BODY);
    await Promise.all([session.close(), second.session.close()]);
  });

  it("give blob() its type, through the method or Response.prototype's, and survive the stream read by hand", async () => {
    const blob = await miss();
    expect((await blob.response.blob()).type).toBe("application/json;charset=utf-8");
    const direct = await miss();
    expect((await Response.prototype.blob.call(direct.response)).type).toBe("application/json;charset=utf-8");
    expectOriginHeaders(direct.response.headers);
    const streamed = await miss();
    const reader = (streamed.response.body as ReadableStream<Uint8Array>).getReader();
    while (!(await reader.read()).done) {}
    expectOriginHeaders(streamed.response.headers);
    await Promise.all([blob.session.close(), direct.session.close(), streamed.session.close()]);
  });

  it("are the same on the cached answer that follows", async () => {
    const session = new CachedSession({ cache: new MemoryCache() });
    const url = itemUrl();
    await (await session.fetch(url)).json();
    const hit = await session.fetch(url);
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(hit.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(hit.headers.get("x-trace")).toBe("abc");
    await session.close();
  });
});
