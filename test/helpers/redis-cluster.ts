/**
 * A Redis Cluster of three masters on local ports, from redis-server processes of our own, for
 * the tests that check the backend on a cluster.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Cluster, Redis } from "ioredis";
import { escapePattern } from "../../src/cache/backends/redis/keys.js";
import { freePort } from "./net.js";
import { pingRedis, REDIS_HOST } from "./redis.js";
import { tempFolder } from "./temp.js";

const run = promisify(execFile);

export class LocalCluster {
  readonly ports: readonly number[];
  readonly #children: ChildProcess[];
  readonly #folder: { path: string; remove(): void };

  private constructor(ports: number[], children: ChildProcess[], folder: { path: string; remove(): void }) {
    this.ports = ports;
    this.#children = children;
    this.#folder = folder;
  }

  static async start(masters = 3): Promise<LocalCluster> {
    const folder = tempFolder("requestful-cluster-");
    const ports: number[] = [];
    const children: ChildProcess[] = [];
    const cluster = new LocalCluster(ports, children, folder);
    try {
      for (let i = 0; i < masters; i++) {
        const port = await freePort();
        const dir = join(folder.path, String(port));
        mkdirSync(dir);
        ports.push(port);
        children.push(
          spawn(
            "redis-server",
            [
              "--port",
              String(port),
              "--bind",
              REDIS_HOST,
              "--dir",
              dir,
              "--save",
              "",
              "--appendonly",
              "no",
              "--cluster-enabled",
              "yes",
              "--cluster-config-file",
              "nodes.conf",
            ],
            { stdio: "ignore" },
          ),
        );
      }
      for (const port of ports) await waitFor(async () => (await pingRedis(port, REDIS_HOST, 200)) === undefined);
      await run(
        "redis-cli",
        [
          "--cluster",
          "create",
          ...ports.map((port) => `${REDIS_HOST}:${port}`),
          "--cluster-replicas",
          "0",
          "--cluster-yes",
        ],
        { timeout: 20_000 },
      );
      for (const port of ports) {
        await waitFor(async () => {
          const node = new Redis(port, REDIS_HOST, { lazyConnect: true });
          node.on("error", () => {});
          try {
            await node.connect();
            return (await node.cluster("INFO")).includes("cluster_state:ok");
          } finally {
            node.disconnect();
          }
        });
      }
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** A new ioredis Cluster client of this cluster. */
  client(): Cluster {
    const client = new Cluster(
      this.ports.map((port) => ({ host: REDIS_HOST, port })),
      { lazyConnect: true },
    );
    client.on("error", () => {});
    return client;
  }

  /** Removes every key under a prefix, node by node and key by key (keys of many slots). */
  async removePrefix(prefix: string): Promise<void> {
    for (const port of this.ports) {
      const node = new Redis(port, REDIS_HOST);
      try {
        let cursor = "0";
        do {
          const [next, keys] = await node.scan(cursor, "MATCH", `${escapePattern(prefix)}:*`, "COUNT", 1_000);
          cursor = next;
          if (keys.length > 0) {
            const pipeline = node.pipeline();
            for (const key of keys) pipeline.unlink(key);
            await pipeline.exec();
          }
        } while (cursor !== "0");
      } finally {
        node.disconnect();
      }
    }
  }

  async stop(): Promise<void> {
    for (const child of this.#children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }
    this.#folder.remove();
  }
}

async function waitFor(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error("the local Redis cluster did not come up");
    await sleep(100);
  }
}
