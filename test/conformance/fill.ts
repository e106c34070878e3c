/**
 * One origin request per miss across processes, for every backend whose store processes share:
 * four processes miss the same 50 URLs at once and the origin sees 50 requests; a lock holder
 * killed with SIGKILL leaves the waiters to fetch once its lease is over; a waiter's abort signal
 * is honoured; a lock released with nothing stored lets the waiter fetch at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  CachedSession,
  type CacheOptions,
  ResponseCache,
  repositoryByPathSegment,
} from "../../src/index.js";
import { json, startServer, type TestServer } from "../helpers/http-server.js";
import { startWorker } from "../helpers/worker.js";
import { itemSettings } from "./fill-plan.js";

export interface FillTarget {
  name: string;
  skip?: string | undefined;
  /** Where the test and its workers open one shared cache (a new store on each call). */
  location(): Promise<{ value: string; options: Record<string, unknown> }>;
  cleanup?(): Promise<void>;
}

const WORKERS = 4;
const URLS = 50;

export function describeFillConformance(target: FillTarget): void {
  if (target.skip) console.warn(`[fill] skipping ${target.name}: ${target.skip}`);

  describe.skipIf(Boolean(target.skip))(`one origin request per miss across processes: ${target.name}`, () => {
    let origin: TestServer;

    beforeAll(async () => {
      origin = await startServer();
    });
    afterAll(async () => {
      await origin?.close();
      await target.cleanup?.();
    });

    async function openCache(): Promise<
      [ResponseCache, AnyRepository, { value: string; options: Record<string, unknown> }]
    > {
      const location = await target.location();
      const cache = await ResponseCache.create(location.value, {
        ...(location.options as CacheOptions),
        repositoryGetter: repositoryByPathSegment(0),
      });
      const items = cache.createRepository(itemSettings()) as AnyRepository;
      await cache.connect();
      return [cache, items, location];
    }

    it(`${WORKERS} processes × ${URLS} URLs missed at once make ${URLS} origin requests`, {
      timeout: 120_000,
    }, async () => {
      const [cache, , location] = await openCache();
      try {
        const prefix = `/items/`;
        for (let i = 0; i < URLS; i++) {
          origin.on(`${prefix}${i}`, async (request, response, hit) => {
            await new Promise((resolve) => setTimeout(resolve, 300)); // a slow origin: the misses overlap
            json(response, { path: request.url, hit });
          });
        }
        const before = origin.count();
        const startAt = Date.now() + 8_000;
        const runs = Array.from({ length: WORKERS }, () =>
          startWorker("fill-worker.ts", [
            "session",
            JSON.stringify(location),
            origin.origin,
            String(URLS),
            String(startAt),
            "20000",
          ]),
        );
        const results = await Promise.all(runs.map((run) => run.done));
        const summaries = results.map((result, i) => {
          expect(result.stderr, `worker ${i}`).toBe("");
          expect(result.code, `worker ${i}: ${result.stdout}`).toBe(0);
          return JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as {
            network: number;
            coalesced: number;
            hits: number;
            started: number;
            finished: number;
          };
        });
        expect(Math.max(...summaries.map((s) => s.started))).toBeLessThan(
          Math.min(...summaries.map((s) => s.finished)),
        );
        expect(origin.count() - before).toBe(URLS);
        expect(summaries.reduce((sum, s) => sum + s.network, 0)).toBe(URLS);
        // The others waited for those entries, or (a worker that started late) found them stored.
        expect(summaries.reduce((sum, s) => sum + s.coalesced + s.hits, 0)).toBe((WORKERS - 1) * URLS);
        expect(summaries.reduce((sum, s) => sum + s.coalesced, 0)).toBeGreaterThan(0);
      } finally {
        await cache.close();
      }
    });

    it("lets the waiters fetch once the lease of a holder killed with SIGKILL is over", {
      timeout: 60_000,
    }, async () => {
      const [cache, items, location] = await openCache();
      const lease = 2_000;
      const holder = startWorker("fill-worker.ts", [
        "hold",
        JSON.stringify(location),
        origin.origin,
        "1",
        "0",
        String(lease),
      ]);
      try {
        await new Promise<void>((resolve, reject) => {
          holder.child.stdout?.on("data", (data: Buffer) => {
            if (String(data).includes("locked")) resolve();
            else reject(new Error(`the holder said ${String(data)}`));
          });
          holder.done.then((result) => reject(new Error(`the holder exited: ${result.stderr}`)));
        });
        const lockedAt = Date.now();
        holder.child.kill("SIGKILL");
        await holder.done;
        const session = new CachedSession({ cache, singleFlight: "store", singleFlightLease: lease, logger: null });
        const before = origin.count("/items/0");
        const response = await session.fetch(`${origin.origin}/items/0`);
        const waited = Date.now() - lockedAt;
        expect(response.status).toBe(200);
        await response.arrayBuffer(); // the body's stream closes once the entry is stored
        expect(origin.count("/items/0") - before).toBe(1);
        expect(waited).toBeLessThan(lease + 1_500);
        expect(await items.contains(new Request(`${origin.origin}/items/0`))).toBe(true);
      } finally {
        holder.child.kill("SIGKILL");
        await cache.close();
      }
    });

    it("honours a waiter's abort signal, and lets a waiter go at once when the holder releases with nothing stored", async () => {
      // The lock is in the store: a second fill of the same key waits, in this process as in any other.
      const [cache, items] = await openCache();
      const other = cache;
      try {
        const request = new Request(`${origin.origin}/items/abort`);
        const held = await cache.fill(items, request, { lease: 10_000 });
        expect(held).toMatchObject({ state: "fetch", locked: true });
        const reason = new Error("stop waiting");
        const controller = new AbortController();
        const waiting = other.fill(items, request, { lease: 10_000, signal: controller.signal });
        setTimeout(() => controller.abort(reason), 100);
        await expect(waiting).rejects.toBe(reason);

        const started = Date.now();
        const second = other.fill(items, request, { lease: 10_000 });
        setTimeout(() => {
          if (held.state === "fetch") held.release().catch(() => {});
        }, 200);
        expect(await second).toMatchObject({ state: "fetch", locked: false });
        expect(Date.now() - started).toBeLessThan(5_000);

        // A lock taken after a holder stored its entry answers with that entry at once.
        const third = await cache.fill(items, request);
        expect(third).toMatchObject({ state: "fetch", locked: true });
        await items.saveResponse([request, JSON.stringify({ stored: true })]);
        if (third.state === "fetch") await third.release();
        const fourth = await cache.fill(items, request);
        expect(fourth.state).toBe("filled");
      } finally {
        await cache.close();
      }
    });

    it("finds the entry within a pause when the news of a release never comes", async () => {
      // The holder stores its entry but its release is lost (a dropped connection): the lock stays
      // until its lease is over. A waiter looks for the entry after growing pauses (at most a second)
      // instead of waiting out the lease.
      const [cache, items, location] = await openCache();
      const other = await ResponseCache.create(location.value, {
        ...(location.options as CacheOptions),
        repositoryGetter: repositoryByPathSegment(0),
      });
      const otherItems = other.createRepository(itemSettings()) as AnyRepository;
      await other.connect();
      try {
        const request = new Request(`${origin.origin}/items/lost-release`);
        const held = await cache.fill(items, request, { lease: 30_000 });
        expect(held).toMatchObject({ state: "fetch", locked: true });
        const started = Date.now();
        const waiting = other.fill(otherItems, request, { lease: 30_000 });
        await new Promise((resolve) => setTimeout(resolve, 150));
        await items.saveResponse([request, JSON.stringify({ stored: "by the holder" })]);
        const ticket = await waiting;
        expect(ticket.state).toBe("filled");
        if (ticket.state === "filled")
          expect(JSON.parse(ticket.entry.payload as string)).toEqual({ stored: "by the holder" });
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        await other.close();
        await cache.close();
      }
    });
  });
}
