/**
 * Real sockets for fault tests of any server backend: a TCP proxy in front of a server that a test
 * can cut, silence, freeze and restore, a listener that accepts connections and never answers, and
 * a free port.
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

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A listener that accepts every connection and never sends a byte. */
export class SilentServer {
  readonly #server = createServer((socket) => {
    this.#accepted++;
    this.#sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.#sockets.delete(socket));
  });
  readonly #sockets = new Set<Socket>();
  #accepted = 0;
  port = 0;

  /** How many connections it has accepted in all. */
  get accepted(): number {
    return this.#accepted;
  }

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

type Mode = "forward" | "silent" | "frozen" | "down";

/**
 * Forwards 127.0.0.1:PORT to a target server. `cut()` destroys every connection and stops
 * listening (clients see a reset, then a refused connection); `silence()` keeps connections open
 * but drops everything sent either way, and accepts new ones without answering (a hung server);
 * `freeze()` is the same but keeps what is sent and delivers it on `restore()` (a server that
 * stalls, then carries on: the byte stream stays whole); `restore()` forwards again on the same port.
 */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<[Socket, Socket]>();
  readonly #held: (() => void)[] = [];
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
    client.on("data", (chunk) => this.#pass(chunk, upstream));
    upstream.on("data", (chunk) => this.#pass(chunk, client));
  }

  /** Destroys every connection and stops accepting new ones. */
  async cut(): Promise<void> {
    this.#mode = "down";
    this.#held.length = 0;
    const server = this.#server;
    this.#server = undefined;
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
    if (server !== undefined) await close(server);
  }

  #pass(chunk: Buffer, to: Socket): void {
    if (this.#mode === "forward") to.write(chunk);
    else if (this.#mode === "frozen") this.#held.push(() => to.write(chunk));
  }

  /** Keeps every connection open but passes nothing on: the server seems to hang. */
  silence(): void {
    this.#mode = "silent";
  }

  /** Keeps every connection open and holds what is sent, until `restore()` delivers it. */
  freeze(): void {
    this.#mode = "frozen";
  }

  /**
   * Forwards again, listening on the same port if the proxy was cut. Connections opened while it
   * was silent stay open; a client that gave up on one has closed it.
   */
  async restore(): Promise<void> {
    this.#mode = "forward";
    for (const deliver of this.#held.splice(0)) deliver();
    if (this.#server === undefined) await this.#listen();
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}
