/**
 * A miss resolves when the head arrives, as fetch does, and the body streams to the caller while it
 * is recorded; it is stored once it ends, before the caller's stream closes. A request for the same
 * key that comes meanwhile joins the one in flight. A stream of events is never stored.
 */
import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse, CachedSession, MemoryCache, type SessionEvent } from "../../src/index.js";
import { startServer, type TestServer } from "../helpers/http-server.js";
import { readRest } from "../helpers/streams.js";

let server: TestServer;
let unique = 0;
const held: ServerResponse[] = [];

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  for (const response of held) response.destroy();
  await server.close();
});

/** A path whose answer sends its head and first chunk, then waits for `finish()`. */
function slow(contentType: string) {
  const path = `/slow/${++unique}`;
  let finish: () => void = () => {};
  server.on(path, (_request, response) => {
    held.push(response);
    response.writeHead(200, { "content-type": contentType, "cache-control": "max-age=3600" });
    response.write(contentType.includes("event-stream") ? "data: one\n\n" : '{"part":');
    finish = () => response.end(contentType.includes("event-stream") ? "data: two\n\n" : '"whole"}');
  });
  return { path, url: server.url(path), finish: () => finish() };
}

describe("a miss that streams", () => {
  it("resolves at the head, streams the first bytes, and stores the body once it ends", async () => {
    await using session = new CachedSession({ cache: new MemoryCache() });
    const { path, url, finish } = slow("application/json");
    const response = await session.fetch(url); // the body has not ended yet
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('{"part":');

    const joined = session.fetch(url); // before the store: joins the request in flight
    finish();
    const rest = await readRest(reader);
    expect(rest).toBe('"whole"}');
    expect(await (await joined).json()).toEqual({ part: "whole" });
    const hit = await session.fetch(url);
    expect(hit).toBeInstanceOf(CachedResponse);
    expect(await hit.json()).toEqual({ part: "whole" });
    expect(server.count(path)).toBe(1);
  });

  it("never stores a stream of events, and never makes another request wait for one", async () => {
    const events: SessionEvent[] = [];
    await using session = new CachedSession({ cache: new MemoryCache(), onEvent: (event) => events.push(event) });
    const { path, url, finish } = slow("text/event-stream");
    const response = await session.fetch(url);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: one\n\n");
    finish();
    await reader.cancel();
    const again = await session.fetch(url);
    expect(again).not.toBeInstanceOf(CachedResponse);
    await again.body?.cancel();
    expect(server.count(path)).toBe(2);
    expect(events).toContainEqual(expect.objectContaining({ type: "not-stored", reason: "event-stream" }));
  });
});
