/**
 * Real sockets for fault tests: a TCP proxy in front of a PostgreSQL server that a test can cut,
 * silence and restore, and a listener that accepts connections and never answers.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** Listens on a free loopback port; resolves to the port. */
function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A listener that accepts every connection and never sends a byte. */
export class SilentServer {
  readonly #server = createServer((socket) => {
    this.#sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.#sockets.delete(socket));
  });
  readonly #sockets = new Set<Socket>();
  port = 0;

  /** How many connections it has accepted and still holds. */
  get connections(): number {
    return this.#sockets.size;
  }

  async start(): Promise<this> {
    this.port = await listen(this.#server);
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await close(this.#server);
  }
}

type Mode = "forward" | "silent" | "down";

/**
 * Forwards 127.0.0.1:PORT to a target server. `cut()` destroys every connection and stops
 * listening (clients see a reset, then a refused connection); `silence()` keeps connections open
 * but drops everything sent either way, and accepts new ones without answering (a hung server);
 * `restore()` forwards again on the same port.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<[Socket, Socket]>();
  #server: Server | undefined;
  #mode: Mode = "forward";
  port = 0;

  constructor(targetHost: string, targetPort: number) {
    this.#target = { host: targetHost, port: targetPort };
  }

  /** Connections that are open through the proxy now. */
  get connections(): number {
    return this.#pairs.size;
  }

  async start(): Promise<this> {
    await this.#listen();
    return this;
  }

  async #listen(): Promise<void> {
    const server = createServer((client) => this.#accept(client));
    this.port = await listen(server, this.port);
    this.#server = server;
  }

  #accept(client: Socket): void {
    client.on("error", () => {});
    const upstream = createConnection(this.#target);
    upstream.on("error", () => client.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const drop = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", drop);
    upstream.on("close", drop);
    client.on("data", (chunk) => {
      if (this.#mode === "forward") upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (this.#mode === "forward") client.write(chunk);
    });
  }

  /** Destroys every connection and stops accepting new ones. */
  async cut(): Promise<void> {
    this.#mode = "down";
    const server = this.#server;
    this.#server = undefined;
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
    if (server !== undefined) await close(server);
  }

  /** Keeps every connection open but passes nothing on: the server seems to hang. */
  silence(): void {
    this.#mode = "silent";
  }

  /**
   * Forwards again, listening on the same port if the proxy was cut. Connections opened while it
   * was silent stay open; a client that gave up on one has closed it.
   */
  async restore(): Promise<void> {
    this.#mode = "forward";
    if (this.#server === undefined) await this.#listen();
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}
