/** The session's `singleFlight` option: waiting for another process's entry, failing open, and its checks. */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  CachedSession,
  CacheError,
  repositoryByPathSegment,
  SQLiteCache,
  type StoreLocks,
} from "../../src/index.js";
import { itemSettings } from "../conformance/fill-plan.js";
import { startServer, type TestServer } from "../helpers/http-server.js";
import { tempFolder } from "../helpers/temp.js";

class BrokenLocksCache extends SQLiteCache {
  protected override storeLocks(): StoreLocks {
    const fail = async (): Promise<never> => {
      throw new CacheError("the lock table is unreadable");
    };
    return { acquire: fail, release: fail, waitForRelease: fail };
  }
}

describe("session: singleFlight", () => {
  let folder: ReturnType<typeof tempFolder>;
  let origin: TestServer;
  let cache: SQLiteCache;
  let items: AnyRepository;

  beforeEach(async () => {
    folder = tempFolder();
    origin = await startServer();
    cache = new SQLiteCache(join(folder.path, "flight.sqlite"), { repositoryGetter: repositoryByPathSegment(0) });
    items = cache.createRepository(itemSettings()) as AnyRepository;
    await cache.connect();
  });

  afterEach(async () => {
    await cache.close();
    await origin.close();
    folder.remove();
  });

  it("answers every waiting request of the session with the entry another holder stored", async () => {
    const url = origin.url("/items/1");
    const held = await cache.fill(items, new Request(url));
    expect(held).toMatchObject({ state: "fetch", locked: true });
    const session = new CachedSession({ cache, singleFlight: "store" });
    const responses = Promise.all([session.fetch(url), session.fetch(url), session.fetch(url)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await items.saveResponse([new Request(url), JSON.stringify({ from: "another process" })]);
    if (held.state === "fetch") await held.release();
    const bodies = await Promise.all((await responses).map((response) => response.json()));
    expect(bodies).toEqual([{ from: "another process" }, { from: "another process" }, { from: "another process" }]);
    expect(origin.count()).toBe(0);
    expect(session.stats().total).toMatchObject({ network: 0, coalesced: 3 });
  });

  it("fails open when the lock fails: the request goes to the network and onError hears of it", async () => {
    const broken = new BrokenLocksCache(join(folder.path, "broken.sqlite"), {
      repositoryGetter: repositoryByPathSegment(0),
    });
    broken.createRepository(itemSettings());
    const errors: [unknown, string][] = [];
    const session = new CachedSession({
      cache: broken,
      singleFlight: "store",
      logger: null,
      onError: (error, { kind }) => errors.push([error, kind]),
    });
    try {
      const response = await session.fetch(origin.url("/items/2"));
      expect(response.status).toBe(200);
      expect(origin.count()).toBe(1);
      expect(errors.map(([, kind]) => kind)).toEqual(["lock"]);
      expect(String(errors[0]?.[0])).toMatch(/lock table is unreadable/);
      expect((await session.fetch(origin.url("/items/2"))).status).toBe(200);
      expect(origin.count()).toBe(1);
    } finally {
      await session.close();
    }
  });

  it("refuses values it does not know, naming the option", () => {
    expect(() => new CachedSession({ cache, singleFlight: "cluster" as "store" })).toThrow(
      /singleFlight must be "process" or "store", got a string \("cluster"\)/,
    );
    expect(() => new CachedSession({ cache, singleFlightLease: 0 })).toThrow(RangeError);
    expect(() => new CachedSession({ cache, singleFlightLease: 1.5 })).toThrow(
      /singleFlightLease must be a whole number/,
    );
  });
});
