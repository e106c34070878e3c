/**
 * The Redis backend on a real Redis Cluster (three local masters): the conformance suite through
 * an ioredis Cluster client, and every key of a repository in one hash slot as the cluster counts.
 */
import { spawnSync } from "node:child_process";
import type { Cluster } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { defineSettings, RedisCache, type RedisRepository } from "../../src/index.js";
import { describeConformance } from "../conformance/suite.js";
import { uniquePrefix } from "../helpers/redis.js";
import { LocalCluster } from "../helpers/redis-cluster.js";

let cluster: LocalCluster | undefined;
let reason: string | undefined;
if (spawnSync("redis-server", ["--version"]).error !== undefined) reason = "redis-server is not installed";
else {
  try {
    cluster = await LocalCluster.start();
  } catch (error) {
    reason = `could not start a local Redis cluster: ${(error as Error).message}`;
  }
}
if (reason !== undefined && process.env.CI) throw new Error(reason);
if (reason !== undefined) console.warn(`[redis cluster] skipping: ${reason}`);

let client: Cluster | undefined = cluster?.client();
let prefix = uniquePrefix();

afterAll(async () => {
  client?.disconnect();
  client = undefined;
  await cluster?.stop();
});

describeConformance({
  name: "redis cluster",
  persistent: true,
  skip: reason,
  makeCache: async (options) => new RedisCache({ ...options, client: client as Cluster, prefix }),
  cleanup: async () => {
    await cluster?.removePrefix(prefix);
    prefix = uniquePrefix();
  },
});

describe.skipIf(reason !== undefined)("redis backend: on a cluster", () => {
  it("keeps every key of a repository in one slot, and repositories spread over the nodes", async () => {
    const cache = new RedisCache({ client: client as Cluster, prefix });
    const names = Array.from({ length: 12 }, (_, i) => `repo ${i} *?[{}]:`);
    for (const name of names) cache.createRepository(defineSettings({ name, fields: ["id"], getKey: () => [null] }));
    await cache.connect();
    const c = client as Cluster;
    const slots = new Set<number>();
    try {
      for (const name of names) {
        const repo = cache.get(name) as RedisRepository;
        await repo.saveResponses(Array.from({ length: 50 }, (_, i) => [["GET", `{k${i}}`], "v"] as const));
        expect(await repo.count()).toBe(50);
        const ids = await c.zrange(repo.keys.index, 0, -1);
        expect(ids).toHaveLength(50);
        const repoSlots = new Set<number>();
        for (const key of [repo.keys.index, repo.keys.gone, ...ids.map((id) => repo.keys.entry(id))]) {
          repoSlots.add(Number(await c.cluster("KEYSLOT", key)));
        }
        expect(repoSlots.size).toBe(1);
        slots.add([...repoSlots][0] as number);
        expect(await repo.clear()).toBe(50);
      }
    } finally {
      await cache.close();
      await cluster?.removePrefix(prefix);
    }
    expect(slots.size).toBeGreaterThan(1);
    // The client stays the user's: open after the cache closed.
    expect(c.status).toBe("ready");
  });
});
