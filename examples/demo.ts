/**
 * `npm start`: requestful in one screen. It starts a music catalogue API on loopback, declares how
 * each endpoint is cached, then walks the catalogue twice through a CachedSession on an SQLite file
 * and prints what reached the network. Run it again: the entries are still in the file.
 * `npm start -- --fresh` empties the cache first.
 */
import { statSync } from "node:fs";
import { join, relative } from "node:path";
import {
  CachedSession,
  defineSettings,
  JSONPayloadHandler,
  type JSONValue,
  repositoryByPathSegment,
  type SessionCounters,
  SQLiteCache,
} from "../src/index.js";
import { type Album, startCatalogueApi, type Track } from "./catalogue-api.js";

const LATENCY_MS = 20;
const CONCURRENCY = 6;

/**
 * How one endpoint is cached: GET /v1/{name}/{id} is keyed by its id, and its JSON payload named by
 * its "name" field. Any other request to the endpoint (a listing, another method) gets no key, so
 * it is not cached.
 */
function byId(name: string) {
  return defineSettings<JSONValue>({
    name,
    fields: ["id"],
    getKey: ({ method, url }) => {
      const [version, , id] = url.pathname.split("/").slice(1);
      return [method === "GET" && version === "v1" && id ? id : null];
    },
    getName: (payload) => (payload as { name?: string }).name,
    payloadHandler: new JSONPayloadHandler(),
  });
}

const fresh = process.argv.includes("--fresh");
const api = await startCatalogueApi({ latency: LATENCY_MS });

// The cache: one SQLite file, one table per endpoint, a request routed by the path segment after /v1.
const cache = SQLiteCache.connectWithPath(join(process.cwd(), ".cache", "demo"), {
  repositoryGetter: repositoryByPathSegment(1),
  expire: { days: 1 },
});
const repositories = ["artists", "albums", "tracks"].map((name) => cache.createRepository(byId(name)));

const rows: [string, SessionCounters, number][] = [];
let before: Record<string, number> = {};
let after: Record<string, number> = {};
try {
  await using session = new CachedSession({ cache });
  await cache.connect();
  if (fresh) for (const repository of repositories) await repository.clear();
  before = await countEntries();

  const getJson = async <T>(path: string): Promise<T> => {
    const response = await session.fetch(`${api.url}${path}`);
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
    return (await response.json()) as T;
  };

  /** Runs a phase, and keeps what the session counted during it. */
  const phase = async (label: string, work: () => Promise<unknown>) => {
    session.resetStats();
    const started = performance.now();
    await work();
    rows.push([label, session.stats().total, performance.now() - started]);
  };

  const albumIds: string[] = [];
  await phase("list albums (no key: not cached)", async () => {
    for (let offset = 0; offset < 60; offset += 50) {
      const page = await getJson<{ items: { id: string }[] }>(`/v1/albums?offset=${offset}&limit=50`);
      albumIds.push(...page.items.map((album) => album.id));
    }
  });

  // One walk of the catalogue: each album, then its tracks and its artists, several albums at once.
  const walk = () =>
    inParallel(albumIds, CONCURRENCY, async (id) => {
      const album = await getJson<Album>(`/v1/albums/${id}`);
      await Promise.all([
        ...album.tracks.items.map((track) => getJson<Track>(`/v1/tracks/${track.id}`)),
        ...album.artists.map((artist) => getJson(`/v1/artists/${artist.id}`)),
      ]);
    });
  await phase("first pass: albums, tracks, artists", walk);
  await phase("second pass: the same again", walk);
  after = await countEntries();
} finally {
  await api.close(); // the session closed the cache at the end of its block
}

printReport();

// -------------------------------------------------------------------------------------------------

async function countEntries(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const repository of repositories) counts[repository.name] = await repository.count(false);
  return counts;
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function describeCounts(counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  if (total === 0) return "none";
  const parts = Object.entries(counts).map(([name, n]) => `${n} ${name}`);
  return `${total} (${parts.join(", ")})`;
}

function printReport(): void {
  const file = relative(process.cwd(), cache.path) || cache.path;
  const size = statSync(cache.path).size;
  console.log(`requestful demo: a music catalogue API on ${api.url}, answering after ${LATENCY_MS} ms,`);
  console.log(`fetched through a CachedSession that caches in SQLite.\n`);
  const kept = Object.values(before).some((n) => n > 0) ? "  <- kept from an earlier run" : "";
  const emptied = fresh ? " (emptied by --fresh)" : "";
  console.log(`entries in the cache before this run: ${describeCounts(before)}${kept}${emptied}\n`);

  const header = ["phase", "requests", "network", "hits", "coalesced", "stored", "time"];
  const table = rows.map(([label, c, ms]) => [
    label,
    c.requests,
    c.network,
    c.hits,
    c.coalesced,
    c.stores,
    `${ms.toFixed(0)} ms`,
  ]);
  const sum = (pick: (c: SessionCounters) => number) => rows.reduce((total, [, c]) => total + pick(c), 0);
  const totalMs = rows.reduce((total, [, , ms]) => total + ms, 0);
  table.push([
    "total",
    sum((c) => c.requests),
    sum((c) => c.network),
    sum((c) => c.hits),
    sum((c) => c.coalesced),
    sum((c) => c.stores),
    `${totalMs.toFixed(0)} ms`,
  ]);
  const cells = [header, ...table].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] as string).length)));
  const line = (row: string[]) =>
    `  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join("   ")}`;
  console.log(line(cells[0] as string[]));
  console.log(`  ${widths.map((w) => "-".repeat(w)).join("   ")}`);
  for (const row of cells.slice(1, -1)) console.log(line(row));
  console.log(`  ${widths.map((w) => "-".repeat(w)).join("   ")}`);
  console.log(line(cells.at(-1) as string[]));

  console.log(`\nthe API server answered ${api.requests} requests; its server is closed.`);
  console.log(`entries in the cache now: ${describeCounts(after)}, live for a day.`);
  console.log(`cache file: ${file} (${(size / 1024).toFixed(0)} KiB)`);
  console.log("run `npm start` again to be answered from it, or `npm start -- --fresh` to empty it first.");
}
