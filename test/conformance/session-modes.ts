/**
 * Every fetch cache mode through a CachedSession, against a real local HTTP server, registered once
 * for every backend: a backend's test file calls `describeSessionModes` with the same target it gives
 * the conformance suite.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CachedResponse,
  CachedSession,
  defineSettings,
  JSONPayloadHandler,
  repositoryByPathSegment,
} from "../../src/index.js";
import { startServer, type TestServer } from "../helpers/http-server.js";
import type { ConformanceTarget } from "./suite.js";

const START = Date.UTC(2026, 0, 31, 12, 0, 0);
const EXPIRE = 1_000;

/** Keys GET requests for /v1/tracks/{id} by id. */
const tracks = () =>
  defineSettings({
    name: "tracks",
    fields: ["id"],
    getKey: ({ method, url }) => [method === "GET" ? (url.pathname.split("/")[3] ?? null) : null],
    payloadHandler: new JSONPayloadHandler(),
  });

export function describeSessionModes(target: ConformanceTarget): void {
  const suite = target.skip ? describe.skip : describe;

  suite(`session cache modes: ${target.name}`, () => {
    let server: TestServer;
    let clock = START;
    let unique = 0;
    const sessions: CachedSession[] = [];
    const errors: unknown[] = [];

    beforeAll(async () => {
      server = await startServer();
    });

    afterAll(async () => {
      await server.close();
    });

    afterEach(async () => {
      for (const session of sessions.splice(0)) await session.close();
      await target.cleanup?.();
      clock = START;
    });

    /** A session over a new cache of this backend, entries live for EXPIRE ms, every cache error kept. */
    async function open(): Promise<CachedSession> {
      errors.length = 0;
      const cache = await target.makeCache({
        now: () => clock,
        expire: EXPIRE,
        repositoryGetter: repositoryByPathSegment(1),
      });
      cache.createRepository(tracks());
      await cache.connect();
      const session = new CachedSession({ cache, logger: null, onError: (error) => errors.push(error) });
      sessions.push(session);
      return session;
    }

    /** A URL no other test asks for, so that the server's count for it starts at zero. */
    function fresh(): { url: string; path: string } {
      const path = `/v1/tracks/m${++unique}`;
      return { url: server.url(path), path };
    }

    async function body(response: Response): Promise<unknown> {
      return response.json();
    }

    it("default: a live entry answers; a miss or an expired entry goes to the network and is stored", async () => {
      const session = await open();
      const { url, path } = fresh();
      const miss = await session.fetch(url);
      expect(miss).not.toBeInstanceOf(CachedResponse);
      expect(await body(miss)).toMatchObject({ hit: 1 });
      const hit = await session.fetch(url);
      expect(hit).toBeInstanceOf(CachedResponse);
      expect(await body(hit)).toMatchObject({ hit: 1 });
      clock += EXPIRE;
      expect(await body(await session.fetch(url))).toMatchObject({ hit: 2 });
      expect(await body(await session.fetch(url))).toMatchObject({ hit: 2 });
      expect(server.count(path)).toBe(2);
      expect(errors).toEqual([]);
    });

    it("no-store: the network both ways; the stored entry is neither read nor replaced", async () => {
      const session = await open();
      const { url, path } = fresh();
      await body(await session.fetch(url));
      const bypassed = await session.fetch(url, { cache: "no-store" });
      expect(bypassed).not.toBeInstanceOf(CachedResponse);
      expect(await body(bypassed)).toMatchObject({ hit: 2 });
      expect(await body(await session.fetch(url))).toMatchObject({ hit: 1 });
      expect(server.count(path)).toBe(2);
      expect(errors).toEqual([]);
    });

    it.each(["reload", "no-cache"] as const)(
      "%s: the network without reading, and the response is stored",
      async (mode) => {
        const session = await open();
        const { url, path } = fresh();
        await body(await session.fetch(url));
        const reloaded = await session.fetch(url, { cache: mode });
        expect(reloaded).not.toBeInstanceOf(CachedResponse);
        expect(await body(reloaded)).toMatchObject({ hit: 2 });
        const hit = await session.fetch(url);
        expect(hit).toBeInstanceOf(CachedResponse);
        expect(await body(hit)).toMatchObject({ hit: 2 });
        expect(server.count(path)).toBe(2);
        expect(errors).toEqual([]);
      },
    );

    it("force-cache: an expired entry that is still held answers; a miss goes to the network and is stored", async () => {
      const session = await open();
      const { url, path } = fresh();
      const first = await session.fetch(url, { cache: "force-cache" });
      expect(first).not.toBeInstanceOf(CachedResponse);
      expect(await body(first)).toMatchObject({ hit: 1 });
      clock += 5 * EXPIRE;
      const stale = await session.fetch(url, { cache: "force-cache" });
      expect(stale).toBeInstanceOf(CachedResponse);
      expect((stale as CachedResponse).stale).toBe(true);
      expect(await body(stale)).toMatchObject({ hit: 1 });
      expect(server.count(path)).toBe(1);
      expect(errors).toEqual([]);
    });

    it("only-if-cached: any held entry answers, expired or not; a miss is a 504 without a network request", async () => {
      const session = await open();
      const { url, path } = fresh();
      const missing = await session.fetch(url, { cache: "only-if-cached" });
      expect(missing.status).toBe(504);
      expect(server.count(path)).toBe(0);
      await body(await session.fetch(url));
      const live = await session.fetch(url, { cache: "only-if-cached" });
      expect(live).toBeInstanceOf(CachedResponse);
      expect(await body(live)).toMatchObject({ hit: 1 });
      clock += 5 * EXPIRE;
      const stale = await session.fetch(url, { cache: "only-if-cached" });
      expect(stale.status).toBe(200);
      expect((stale as CachedResponse).stale).toBe(true);
      expect(await body(stale)).toMatchObject({ hit: 1 });
      expect(server.count(path)).toBe(1);
      expect(errors).toEqual([]);
    });
  });
}
