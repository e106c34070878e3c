/**
 * `close()` waits for the work a session still owes its store: bodies whose recording has ended and
 * whose entry is being stored, and background revalidations. A body still arriving when the
 * session closes is not stored (the caller's stream goes on), so that a body no one reads never
 * keeps `close()` waiting.
 */
import type { ServerResponse } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse, CachedSession, type SessionEvent } from "../../src/index.js";
import { startServer, type TestServer } from "../helpers/http-server.js";
import { readRest } from "../helpers/streams.js";
import { tempFolder } from "../helpers/temp.js";

let server: TestServer;
let unique = 0;
const held: ServerResponse[] = [];
const folder = tempFolder("requestful-close-");

beforeAll(async () => {
  server = await startServer({ headers: { "cache-control": "max-age=3600" } });
});
afterAll(async () => {
  for (const response of held) response.destroy();
  await server.close();
  folder.remove();
});

function file(): string {
  return join(folder.path, `close-${++unique}.sqlite`);
}

/** Whether a fresh session over the same file answers `url` from the cache. */
async function storedIn(path: string, url: string): Promise<boolean> {
  await using session = new CachedSession({ cache: path });
  const response = await session.fetch(url, { cache: "only-if-cached" });
  await response.body?.cancel();
  return response instanceof CachedResponse;
}

describe("close()", () => {
  it("waits for the entry of a body read to its end, on SQLite", async () => {
    const path = file();
    const url = server.url(`/read/${unique}`);
    const errors: unknown[] = [];
    const session = new CachedSession({ cache: path, onError: (error) => errors.push(error) });
    const response = await session.fetch(url);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    while (!(await reader.read()).done) {}
    await session.close();
    expect(errors).toEqual([]);
    expect(await storedIn(path, url)).toBe(true);
  });

  it("waits for a body read whole with json(), with single flight across processes", async () => {
    const path = file();
    const url = server.url(`/json/${unique}`);
    const errors: unknown[] = [];
    const session = new CachedSession({ cache: path, singleFlight: "store", onError: (error) => errors.push(error) });
    const response = await session.fetch(url);
    await response.json();
    await session.close();
    expect(errors).toEqual([]);
    expect(await storedIn(path, url)).toBe(true);
  });

  it("waits for a background revalidation (stale-while-revalidate) to store", async () => {
    const path = file();
    const name = `/swr/${++unique}`;
    server.on(name, (_request, response, hit) => {
      response.writeHead(200, {
        "content-type": "text/plain",
        "cache-control": "max-age=0, stale-while-revalidate=3600",
        etag: `"${hit}"`,
      });
      response.end(`version ${hit}`);
    });
    const url = server.url(name);
    {
      await using first = new CachedSession({ cache: path });
      await (await first.fetch(url)).text();
    }
    const errors: unknown[] = [];
    const session = new CachedSession({ cache: path, onError: (error) => errors.push(error) });
    const stale = await session.fetch(url); // answers stale, revalidates in the background
    expect(await stale.text()).toBe("version 1");
    await session.close();
    expect(errors).toEqual([]);
    expect(server.count(name)).toBe(2);
    await using after = new CachedSession({ cache: path });
    expect(await (await after.fetch(url, { cache: "force-cache" })).text()).toBe("version 2");
  });

  it("does not wait for a body that is still arriving: it is not stored, and its caller reads it on", async () => {
    const path = file();
    const name = `/endless/${++unique}`;
    let finish: () => void = () => {};
    server.on(name, (_request, response) => {
      held.push(response);
      response.writeHead(200, { "content-type": "text/plain", "cache-control": "max-age=3600" });
      response.write("first ");
      finish = () => response.end("last");
    });
    const url = server.url(name);
    const events: SessionEvent[] = [];
    const errors: unknown[] = [];
    const session = new CachedSession({
      cache: path,
      onEvent: (event) => events.push(event),
      onError: (error) => errors.push(error),
    });
    const response = await session.fetch(url);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first ");
    await session.close(); // the body has not ended, and may never: close() does not wait for it
    finish();
    const rest = await readRest(reader);
    expect(rest).toBe("last");
    expect(errors).toEqual([]);
    expect(events).toContainEqual(expect.objectContaining({ type: "not-stored", reason: "incomplete" }));
    expect(await storedIn(path, url)).toBe(false);
  });

  it("does not wait for a body that no one reads and that never ends", async () => {
    const name = `/unread/${++unique}`;
    server.on(name, (_request, response) => {
      held.push(response);
      response.writeHead(200, { "content-type": "text/plain", "cache-control": "max-age=3600" });
      response.write("never ends");
    });
    const session = new CachedSession({ cache: file() });
    const response = await session.fetch(server.url(name));
    expect(response.status).toBe(200);
    await session.close(); // resolves: a vitest timeout would fail the test
  });
});
