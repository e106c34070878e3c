/**
 * A real HTTP server on 127.0.0.1 for session tests: it answers each path from a script (or with a
 * default JSON body that says how many times the path was asked for), and counts every request
 * that reaches it, so that a test can assert what went to the network.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Answers one request; `hit` counts the requests for this path so far, this one included. */
export type Handler = (request: IncomingMessage, response: ServerResponse, hit: number) => void | Promise<void>;

/** A request as it reached the server. */
export interface Arrival {
  readonly method: string;
  /** The path with its query. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** The absolute URL of a path on the server. */
  url(path: string): string;
  /** How many requests reached the server: all of them, or those for one path (with its query). */
  count(path?: string): number;
  /** Every request that reached the server, in order. */
  readonly arrivals: readonly Arrival[];
  /** Scripts the answers for a path (with its query), in place of the default. */
  on(path: string, handler: Handler): void;
  close(): Promise<void>;
}

/** The default answer: `{"path": ..., "hit": n}` as JSON, with headers that differ on each request. */
export const defaultHandler: Handler = (request, response, hit) => {
  json(response, { path: request.url, hit }, { headers: { "x-hit": String(hit), etag: `"${hit}"` } });
};

/** Sends `body` as JSON with a Content-Length. */
export function json(
  response: ServerResponse,
  body: unknown,
  { status = 200, headers = {} }: { status?: number; headers?: Record<string, string | string[]> } = {},
): void {
  send(response, JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/** Sends text or bytes with a Content-Length. */
export function send(
  response: ServerResponse,
  body: string | Uint8Array,
  { status = 200, headers = {} }: { status?: number; headers?: Record<string, string | string[]> } = {},
): void {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  response.writeHead(status, { "content-length": String(bytes.byteLength), ...headers });
  response.end(bytes);
}

/**
 * Starts the server. `headers` are added to every default answer (say, a `Cache-Control` that
 * makes the answers fresh for a cache that follows the origin's headers).
 */
export async function startServer(options: { headers?: Record<string, string> } = {}): Promise<TestServer> {
  const fallback: Handler =
    options.headers === undefined
      ? defaultHandler
      : (request, response, hit) =>
          json(
            response,
            { path: request.url, hit },
            { headers: { "x-hit": String(hit), etag: `"${hit}"`, ...options.headers } },
          );
  const scripts = new Map<string, Handler>();
  const counts = new Map<string, number>();
  const arrivals: Arrival[] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? "/";
    const hit = (counts.get(path) ?? 0) + 1;
    counts.set(path, hit);
    arrivals.push({ method: request.method ?? "GET", path, headers: request.headers });
    const handler = scripts.get(path) ?? fallback;
    Promise.resolve(handler(request, response, hit)).catch((error: unknown) => {
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    count: (path) => (path === undefined ? arrivals.length : (counts.get(path) ?? 0)),
    arrivals,
    on: (path, handler) => {
      scripts.set(path, handler);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
