/**
 * The suite's origin server on loopback: its own handlers, imported from the suite, mounted on an
 * `http.createServer` as `test-engine/server/server.mjs` mounts them.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { OriginHandlers } from "./suite.js";

/** A running origin. */
export interface Origin {
  /** `http://127.0.0.1:PORT`, without a trailing slash, as the suite's client wants it. */
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** Starts the origin on a free loopback port. */
export async function startOrigin(handlers: OriginHandlers): Promise<Origin> {
  const server: Server = createServer((request, response) => {
    const segments = new URL(request.url ?? "/", "http://127.0.0.1").pathname.split("/").slice(1);
    const dispatch = segments.shift();
    switch (dispatch) {
      case "config":
      case "test":
      case "state":
        handlers[dispatch](segments, request, response);
        return;
      default:
        response.writeHead(404, { "Content-Type": "text/plain" }).end(`no handler for ${request.url}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
