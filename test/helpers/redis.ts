/**
 * Helpers for the Redis tests: is the shared server there, a prefix per test run and its cleanup,
 * and Redis servers of our own to stop and start again.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { type Socket, connect as tcpConnect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { escapePattern } from "../../src/cache/backends/redis/keys.js";
import { freePort } from "./net.js";

/** The shared Redis server of the conformance suite. */
export const REDIS_HOST = "127.0.0.1";
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

/** Resolves to undefined when a Redis server answers PING at host:port, else to the reason it did not. */
export function pingRedis(port = REDIS_PORT, host = REDIS_HOST, ms = 1_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let answer = "";
    const socket: Socket = tcpConnect({ port, host });
    const done = (reason: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`no answer from ${host}:${port} within ${ms} ms`), ms);
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => {
      answer += data.toString("latin1");
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG") ? undefined : `unexpected reply ${answer.trim()}`);
    });
    socket.on("error", (error) => done(`${host}:${port}: ${error.message}`));
  });
}

/** A key prefix that no other test run uses. */
export function uniquePrefix(): string {
  return `requestful-test:${randomUUID()}`;
}

/** Removes every key under a prefix (a SCAN of the server: for tests only). */
export async function removePrefix(prefix: string, url = REDIS_URL): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  try {
    await client.connect();
    return await removeMatching(client, `${escapePattern(prefix)}:*`);
  } finally {
    client.disconnect();
  }
}

/** Every key under a prefix. */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${escapePattern(prefix)}:*`, "COUNT", 1_000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found;
}

async function removeMatching(client: Redis, pattern: string): Promise<number> {
  let removed = 0;
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1_000);
    cursor = next;
    if (keys.length > 0) removed += await client.unlink(...keys);
  } while (cursor !== "0");
  return removed;
}

/** A redis-server process of our own on a port of its own, without persistence. */
export class RedisServer {
  readonly port: number;
  #process: ChildProcess | undefined;

  readonly #args: readonly string[];

  private constructor(port: number, args: readonly string[]) {
    this.port = port;
    this.#args = args;
  }

  get url(): string {
    return `redis://${REDIS_HOST}:${this.port}`;
  }

  /** Starts a server of its own; `args` are more `redis-server` options (say, `--maxmemory 4mb`). */
  static async start(port?: number, args: readonly string[] = []): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()), args);
    await server.start();
    return server;
  }

  /** Starts the server (again, on the same port) and waits until it answers. */
  async start(): Promise<void> {
    if (this.#process !== undefined) throw new Error("already running");
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", REDIS_HOST, "--save", "", "--appendonly", "no", ...this.#args],
      { stdio: "ignore" },
    );
    this.#process = child;
    const until = Date.now() + 10_000;
    while ((await pingRedis(this.port, REDIS_HOST, 200)) !== undefined) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (Date.now() > until) throw new Error(`redis-server on port ${this.port} did not start`);
      await sleep(25);
    }
  }

  /** Kills the server at once (SIGKILL: no goodbye to its clients) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill(signal);
    await exited;
  }
}

/**
 * Whether `redis-server` is installed, for tests that start a server of their own. In CI, where it
 * must be, its absence is an error rather than a skip.
 */
export async function redisServerInstalled(): Promise<boolean> {
  const installed = await new Promise<boolean>((resolve) => {
    const probe = spawn("redis-server", ["--version"], { stdio: "ignore" });
    probe.on("error", () => resolve(false));
    probe.on("exit", (code) => resolve(code === 0));
  });
  if (!installed && process.env.CI) throw new Error("redis-server must be installed in CI");
  return installed;
}
