/**
 * A private PostgreSQL server for tests that stop it: its own data folder and port, made with
 * initdb, so that killing it leaves the shared server on 5432 alone. As root, the server runs as
 * the `postgres` user (PostgreSQL refuses to run as root).
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./net.js";

const run = promisify(execFile);

/** The folder of the PostgreSQL programs, if they are installed. */
function binaries(): string | undefined {
  try {
    const folder = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
    if (existsSync(join(folder, "initdb")) && existsSync(join(folder, "postgres"))) return folder;
  } catch {
    // no pg_config
  }
  return undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Why a private server cannot run here, or `undefined` when it can. */
export function privateServerUnavailable(): string | undefined {
  if (binaries() === undefined) return "the PostgreSQL programs (pg_config, initdb, postgres) are not installed";
  if (process.getuid?.() === 0 && postgresUser() === undefined) {
    return "running as root, and there is no postgres user to run the server as";
  }
  return undefined;
}

export class PrivateServer {
  readonly #bin: string;
  readonly #folder: string;
  readonly #asRoot: boolean;
  port = 0;

  private constructor(bin: string, folder: string, asRoot: boolean) {
    this.#bin = bin;
    this.#folder = folder;
    this.#asRoot = asRoot;
  }

  /** Makes a new cluster with a `test` database and starts it on a free port. */
  static async create(): Promise<PrivateServer> {
    const bin = binaries();
    if (bin === undefined) throw new Error("PostgreSQL programs not found");
    const folder = mkdtempSync(join(tmpdir(), "requestful-pg-"));
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const user = postgresUser();
      if (user === undefined) throw new Error("no postgres user");
      chownSync(folder, user.uid, user.gid);
    }
    const server = new PrivateServer(bin, folder, asRoot);
    await server.#exec("initdb", ["-D", join(folder, "data"), "-A", "trust", "-U", "postgres", "--no-sync"]);
    server.port = await freePort();
    await server.start();
    const client = new pg.Client({ host: "127.0.0.1", port: server.port, user: "postgres", database: "postgres" });
    await client.connect();
    await client.query("CREATE DATABASE test");
    await client.end();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/test`;
  }

  #exec(program: string, args: string[]) {
    const path = join(this.#bin, program);
    return this.#asRoot ? run("runuser", ["-u", "postgres", "--", path, ...args]) : run(path, args);
  }

  /** Starts the server (again) on its port and waits until it takes connections. */
  async start(): Promise<void> {
    const args = [
      "-D",
      join(this.#folder, "data"),
      "-p",
      String(this.port),
      "-k",
      this.#folder,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
    ];
    const path = join(this.#bin, "postgres");
    const child = this.#asRoot
      ? spawn("runuser", ["-u", "postgres", "--", path, ...args], { stdio: "ignore", detached: true })
      : spawn(path, args, { stdio: "ignore", detached: true });
    child.unref();
    const until = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({ host: "127.0.0.1", port: this.port, user: "postgres", database: "postgres" });
      client.on("error", () => {});
      try {
        await client.connect();
        await client.query("SELECT 1");
        await client.end();
        return;
      } catch (error) {
        await client.end().catch(() => {});
        if (Date.now() > until) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** The postmaster's process id, from its pid file. */
  #pid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.#folder, "data", "postmaster.pid"), "utf8").split("\n")[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Kills the server the way a crash would: an immediate shutdown (SIGQUIT) ends every server
   * process at once, without a checkpoint; the next start recovers from the write-ahead log.
   */
  async kill(): Promise<void> {
    const pid = this.#pid();
    if (pid === undefined) return;
    process.kill(pid, "SIGQUIT");
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      try {
        process.kill(pid, 0);
      } catch {
        return; // gone
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the private PostgreSQL server (pid ${pid}) did not stop`);
  }

  /** Stops the server and removes its files. */
  async remove(): Promise<void> {
    await this.kill();
    rmSync(this.#folder, { recursive: true, force: true });
  }
}
