import type { StoreSize } from "../../cache.js";
import { parseRecord, type RepositoryRecord } from "../../records.js";
import type { RedisLink } from "./connection.js";
import { escapePattern, LAYOUT_VERSION } from "./keys.js";
import type { RedisRepository } from "./repository.js";

const SCAN_COUNT = 1_000;

/** The hash that records each repository created under a prefix: name → record as JSON. */
export function recordsKey(prefix: string): string {
  return `${prefix}:v${LAYOUT_VERSION}:repositories`;
}

export async function saveRecord(link: RedisLink, prefix: string, record: RepositoryRecord): Promise<void> {
  await link.run((client) => client.hset(recordsKey(prefix), record.name, JSON.stringify(record)));
}

export async function loadRecords(link: RedisLink, prefix: string): Promise<RepositoryRecord[]> {
  const key = recordsKey(prefix);
  const all = await link.run((client) => client.hgetall(key));
  return Object.values(all).map((text) => parseRecord(text, `Redis hash "${key}"`));
}

/** The server's memory in use: Redis does not tell the memory of one prefix without reading every key. */
export async function measureStore(link: RedisLink): Promise<StoreSize> {
  const info = await link.run((client) => client.info("memory"));
  const bytes = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
  return { bytes: Number.isFinite(bytes) ? bytes : 0, measured: "server memory" };
}

/**
 * Checks each repository's index against its entries: after the index forgets what Redis expired,
 * every member must have its entry, and (on a single server) every entry must be in the index.
 */
export async function checkStore(link: RedisLink, repositories: Iterable<RedisRepository>): Promise<string[]> {
  const problems: string[] = [];
  for (const repository of repositories) {
    await repository.count(); // forgets what Redis has expired
    let dangling = 0;
    let indexed = 0;
    let cursor = "0";
    do {
      const [next, flat] = await link.run((client) => client.zscan(repository.keys.index, cursor, "COUNT", SCAN_COUNT));
      cursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length === 0) continue;
      const exists = await link.run(async (client) => {
        const pipeline = client.pipeline();
        for (const id of ids) pipeline.exists(repository.keys.entry(id));
        return ((await pipeline.exec()) ?? []).map(([error, reply]) => {
          if (error) throw error;
          return reply as number;
        });
      });
      indexed += ids.length;
      dangling += exists.filter((found) => found === 0).length;
    } while (cursor !== "0");
    if (dangling > 0) {
      problems.push(`repository "${repository.name}": ${dangling} of ${indexed} index members have no entry`);
    }
    const unindexed = await countUnindexed(link, repository);
    if (unindexed > 0) problems.push(`repository "${repository.name}": ${unindexed} entries are not in the index`);
  }
  return problems;
}

async function countUnindexed(link: RedisLink, repository: RedisRepository): Promise<number> {
  if ((link.client as { isCluster?: boolean }).isCluster === true) return 0; // SCAN covers one node only
  const start = repository.keys.entry("");
  const pattern = `${escapePattern(start)}*`;
  let unindexed = 0;
  let cursor = "0";
  do {
    const [next, keys] = await link.run((client) =>
      (client as import("ioredis").Redis).scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT),
    );
    cursor = next;
    if (keys.length === 0) continue;
    const scores = await link.run((client) =>
      client.zmscore(repository.keys.index, ...keys.map((key) => key.slice(start.length))),
    );
    unindexed += scores.filter((score) => score === null).length;
  } while (cursor !== "0");
  return unindexed;
}

/** Takes out of each index the entries that Redis has expired. */
export async function compactStore(repositories: Iterable<RedisRepository>): Promise<void> {
  for (const repository of repositories) await repository.count();
}
