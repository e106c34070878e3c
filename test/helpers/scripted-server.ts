/**
 * A real HTTP server on 127.0.0.1 that answers from scripts: for each path, a list of answers given
 * in order (the last one repeats), or a function of the request. It records every request and counts
 * the requests in flight, so that tests can assert what reached the network and how much of it at once.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One answer: a response, or a reset of the connection before any response. */
export type Answer =
  | {
      status: number;
      headers?: Record<string, string>;
      /** Text, or a value sent as JSON. */
      body?: unknown;
      /** Milliseconds to hold the answer back, so that requests overlap. */
      delay?: number;
      /** Sends the headers and half the body, then resets the connection. */
      cut?: boolean;
    }
  | { reset: true };

/** A request as the server received it. */
export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  /** How many requests were in flight when this one arrived, itself included. */
  readonly inFlight: number;
}

/** Answers a request; may look at how many requests to the same path came before it. */
export type Responder = (request: Received, index: number) => Answer;

export class ScriptedServer {
  readonly #server: Server;
  readonly #scripts = new Map<string, Responder>();
  readonly #counts = new Map<string, number>();
  /** Every request, in the order they arrived. */
  readonly received: Received[] = [];
  /** The most requests that were in flight at once. */
  maxInFlight = 0;
  #inFlight = 0;
  #url = "";

  private constructor() {
    this.#server = createServer((request, response) => void this.#answer(request, response));
    this.#server.keepAliveTimeout = 1_000;
  }

  /** Starts a server on a free port of 127.0.0.1. */
  static async start(): Promise<ScriptedServer> {
    const server = new ScriptedServer();
    await new Promise<void>((resolve) => server.#server.listen(0, "127.0.0.1", resolve));
    const { port } = server.#server.address() as AddressInfo;
    server.#url = `http://127.0.0.1:${port}`;
    return server;
  }

  /** The server's origin: `http://127.0.0.1:PORT`. */
  get origin(): string {
    return this.#url;
  }

  /** The absolute URL of a path on the server. */
  url(path: string): string {
    return `${this.#url}${path}`;
  }

  /** Answers requests to `path` with these answers in order; the last one repeats. */
  script(path: string, ...answers: Answer[]): this {
    if (answers.length === 0) throw new Error("script needs at least one answer");
    return this.route(path, (_, index) => answers[Math.min(index, answers.length - 1)] as Answer);
  }

  /** Answers requests to `path` with a function of the request. */
  route(path: string, responder: Responder): this {
    this.#scripts.set(path, responder);
    this.#counts.set(path, 0);
    return this;
  }

  /** How many requests reached `path` (its pathname and query), or the server, so far. */
  count(path?: string): number {
    return path === undefined ? this.received.length : this.received.filter((request) => request.path === path).length;
  }

  /** Forgets the requests received so far and the in-flight high mark (the scripts stay). */
  clearLog(): void {
    this.received.length = 0;
    this.maxInFlight = 0;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    const inFlight = this.#inFlight;
    let done = false;
    const finish = () => {
      if (!done) this.#inFlight--;
      done = true;
    };
    response.on("close", finish);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const path = request.url ?? "/";
      const received: Received = {
        method: request.method ?? "GET",
        path,
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        inFlight,
      };
      this.received.push(received);
      const pathname = path.split("?")[0] as string;
      const key = this.#scripts.has(path) ? path : pathname;
      const responder = this.#scripts.get(key);
      const index = this.#counts.get(key) ?? 0;
      this.#counts.set(key, index + 1);
      const answer = responder?.(received, index) ?? { status: 404, body: { error: `no script for ${path}` } };
      if ("reset" in answer) {
        request.socket.destroy();
        finish();
        return;
      }
      if (answer.delay) await new Promise((resolve) => setTimeout(resolve, answer.delay));
      const text =
        typeof answer.body === "string" || answer.body === undefined ? answer.body : JSON.stringify(answer.body);
      const headers: Record<string, string> = { ...answer.headers };
      if (text !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === "content-type")) {
        headers["content-type"] = typeof answer.body === "string" ? "text/plain; charset=utf-8" : "application/json";
      }
      if (answer.cut) {
        headers["content-length"] = String(Buffer.byteLength(text ?? ""));
        response.writeHead(answer.status, headers);
        response.write((text ?? "").slice(0, Math.floor((text ?? "").length / 2)));
        setTimeout(() => request.socket.destroy(), 5);
        return;
      }
      response.writeHead(answer.status, headers);
      response.end(text);
    } catch {
      response.destroy();
      finish();
    }
  }
}
