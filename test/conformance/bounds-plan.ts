/** What every worker of the multi-process bounds test does, shared by the test and its workers. */
import { type CacheEntry, defineSettings } from "../../src/index.js";

export const BOUND_WORKERS = 4;
/** Entries each worker writes. */
export const WRITES_PER_WORKER = 400;
export const MAX_ENTRIES = 120;
export const MAX_BYTES = 120 * 1_200;

export const boundSettings = () => defineSettings({ name: "bounded", fields: ["id"], getKey: () => [null] });

/** A payload of a size that varies with the key: 100 to 2,100 bytes. */
export function payloadFor(worker: number, i: number): string {
  return `w${worker}:${i}:`.padEnd(100 + ((i * 7919 + worker * 104_729) % 2_000), "x");
}

/** HTTP metadata as a session stores it, for tests of what entries count for. */
export const META = '{"v":1,"r":1,"a":0,"l":60000,"f":8,"w":0,"e":0,"y":[["accept-language","fr"]]}';

/** A whole entry of the key `["GET", id]` with headers, a URL and the given HTTP metadata, live for a minute from `cachedAt`. */
export function wholeEntry(id: string, meta: string | null, cachedAt: number): CacheEntry {
  return {
    key: ["GET", id],
    name: null,
    cachedAt,
    expiresAt: cachedAt + 60_000,
    payload: `payload of ${id}`,
    status: 200,
    headers: '[["content-type","text/plain"]]',
    url: `https://api.example.com/pages/${id}`,
    meta,
  };
}
