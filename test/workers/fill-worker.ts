/**
 * One of several processes that share one cache and miss the same URLs at the same moment (see
 * test/conformance/fill.ts). Usage: tsx fill-worker.ts MODE LOCATION ORIGIN COUNT START_AT [LEASE].
 * MODE "session": fetches COUNT URLs at once through a session with `singleFlight: "store"` (or
 * "process" as MODE "process"), checks every body, prints a JSON summary. MODE "hold": takes the
 * lock of URL 0 with `cache.fill`, prints "locked" and waits to be killed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { CachedSession, ResponseCache, repositoryByPathSegment } from "../../src/index.js";
import { itemSettings } from "../conformance/fill-plan.js";

const [mode = "session", locationArg = "{}", origin = "", countArg = "50", startAtArg = "0", leaseArg = "10000"] =
  process.argv.slice(2);
const { value, options } = JSON.parse(locationArg) as { value: string; options: Record<string, unknown> };
const cache = await ResponseCache.create(value, { ...options, repositoryGetter: repositoryByPathSegment(0) });
const items = cache.createRepository(itemSettings());
await cache.connect();

if (mode === "hold") {
  const ticket = await cache.fill(items, new Request(`${origin}/items/0`), { lease: Number(leaseArg) });
  console.log(ticket.state === "fetch" && ticket.locked ? "locked" : `not locked: ${ticket.state}`);
  await sleep(600_000);
} else {
  const session = new CachedSession({
    cache,
    singleFlight: mode === "process" ? "process" : "store",
    singleFlightLease: Number(leaseArg),
  });
  await sleep(Math.max(0, Number(startAtArg) - Date.now()));
  const started = Date.now();
  const problems: string[] = [];
  const urls = Array.from({ length: Number(countArg) }, (_, i) => `${origin}/items/${i}`);
  await Promise.all(
    urls.map(async (url, i) => {
      try {
        const body = (await (await session.fetch(url)).json()) as { path?: string };
        if (body.path !== `/items/${i}`) problems.push(`${url} answered ${JSON.stringify(body)}`);
      } catch (error) {
        problems.push(`${url}: ${(error as Error).message}`);
      }
    }),
  );
  const { total } = session.stats();
  await session.close();
  console.log(
    JSON.stringify({
      problems,
      started,
      finished: Date.now(),
      network: total.network,
      coalesced: total.coalesced,
      hits: total.hits,
      errors: total.errors,
    }),
  );
  process.exit(problems.length === 0 ? 0 : 1);
}
