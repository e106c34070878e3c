import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RequestError, RequestHandler, ResponseError, StepCountTimer } from "../../src/index.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { ScriptedServer } from "../helpers/scripted-server.js";

let server: ScriptedServer;
const handlers: RequestHandler[] = [];

beforeAll(async () => {
  server = await ScriptedServer.start();
});
afterAll(() => server.close());
afterEach(async () => {
  for (const handler of handlers.splice(0)) await handler.close();
  server.clearLog();
});

function handlerWith(): RequestHandler {
  const clock = new FakeClock();
  const handler = RequestHandler.create({
    clock,
    retryTimer: new StepCountTimer({ initial: 100, count: 3, step: 100, clock }),
  });
  handlers.push(handler);
  return handler;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the request to fail");
}

const DATA = "line 1\nline 2\n";

/** Bodies that the first send consumes, each made fresh. */
const streams: [string, () => unknown, string][] = [
  [
    "an async iterable",
    () =>
      (async function* () {
        yield new TextEncoder().encode("line 1\n");
        yield new TextEncoder().encode("line 2\n");
      })(),
    "async iterable",
  ],
  ["a Node Readable", () => Readable.from([Buffer.from("line 1\n"), Buffer.from("line 2\n")]), "Node stream"],
  [
    "a web ReadableStream",
    () =>
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(DATA));
          controller.close();
        },
      }),
    "ReadableStream",
  ],
];

describe.each(streams)("an upload whose body is %s", (_, makeBody, kind) => {
  it("is sent once, never retried empty, and a 503 fails the call saying why", async () => {
    server.script("/upload", { status: 503, body: "busy" }, { status: 200, body: "stored" });
    const handler = handlerWith();
    const error = await failure(
      handler.put(server.url("/upload"), { body: makeBody() as never, duplex: "half" } as never),
    );
    expect(server.received.map((request) => request.body)).toEqual([DATA]);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).status).toBe(503);
    expect((error as Error).message).toContain(kind);
    expect((error as Error).message).toContain("which the first send consumed");
    expect((error as Error).message).not.toContain("see retryMethods");
  });

  it("a 401 with fresh credentials is not sent again either", async () => {
    server.script("/upload", { status: 401, body: "who?" }, { status: 200, body: "stored" });
    const clock = new FakeClock();
    const handler = RequestHandler.create({
      clock,
      authoriser: { headers: async () => ({ authorization: "Bearer t" }), refresh: async () => true },
    });
    handlers.push(handler);
    const error = await failure(
      handler.post(server.url("/upload"), { body: makeBody() as never, duplex: "half" } as never),
    );
    expect(server.received.map((request) => request.body)).toEqual([DATA]);
    expect((error as Error).message).toContain(`${kind}, which the first send consumed: it is not sent again`);
  });

  it("a network failure is not retried, and the error says why", async () => {
    server.script("/upload", { reset: true }, { status: 200, body: "stored" });
    const handler = handlerWith();
    const error = await failure(
      handler.put(server.url("/upload"), { body: makeBody() as never, duplex: "half" } as never),
    );
    expect(server.count("/upload")).toBe(1);
    expect(error).toBeInstanceOf(RequestError);
    expect((error as Error).message).toContain(kind);
  });
});

describe("an upload whose body can be sent again", () => {
  it("is retried with the whole body after a 503", async () => {
    server.script("/upload", { status: 503, body: "busy" }, { status: 200, body: "stored" });
    const handler = handlerWith();
    expect(await handler.put(server.url("/upload"), { body: new Blob([DATA]) })).toBe("stored");
    expect(server.received.map((request) => request.body)).toEqual([DATA, DATA]);
  });

  it("a POST says that its method is not retried", async () => {
    server.script("/upload", { status: 503, body: "busy" });
    const handler = handlerWith();
    const error = await failure(handler.post(server.url("/upload"), { body: DATA }));
    expect((error as Error).message).toContain("a POST request is not retried (see retryMethods)");
  });
});
