import { createServer } from "node:net";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BasicAuthoriser,
  BearerAuthoriser,
  OAuth2ClientCredentials,
  RequestError,
  RequestHandler,
  type RequestHandlerOptions,
  ResponseError,
  StepCountTimer,
} from "../../src/index.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { ScriptedServer } from "../helpers/scripted-server.js";

const SECRET = "tok-9f8e7d6c5b4a";
/** Every form a secret of these tests can take in text: itself, and base64 in a Basic header. */
const FORMS = [
  SECRET,
  Buffer.from(`client-1:${SECRET}`).toString("base64"),
  Buffer.from(`me:${SECRET}`).toString("base64"),
];

let server: ScriptedServer;
const handlers: RequestHandler[] = [];

beforeAll(async () => {
  server = await ScriptedServer.start();
  server.route("/token", () => ({ status: 401, body: { error: "invalid_client" } }));
});
afterAll(() => server.close());
afterEach(async () => {
  for (const handler of handlers.splice(0)) await handler.close();
  server.clearLog();
});

function handlerWith(options: RequestHandlerOptions = {}): RequestHandler {
  const clock = new FakeClock();
  const handler = RequestHandler.create({
    clock,
    waitTimer: null,
    retryTimer: new StepCountTimer({ initial: 10, count: 2, step: 10, clock }),
    ...options,
  });
  handlers.push(handler);
  return handler;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the request to fail");
}

/** What console.error and loggers print of an error, its causes included. */
function printed(error: unknown): string {
  return `${inspect(error, { depth: Number.POSITIVE_INFINITY })}\n${String(error)}\n${JSON.stringify(error)}`;
}

function expectNoSecret(error: unknown): void {
  const text = printed(error);
  for (const form of FORMS) expect(text).not.toContain(form);
}

describe("errors of the request handler carry no credentials", () => {
  it("a 4xx ResponseError: bearer token, API key header and query parameter, cookie", async () => {
    server.script("/items?api_key=tok-9f8e7d6c5b4a&page=2", {
      status: 404,
      headers: { "set-cookie": `session=${SECRET}` },
      body: "no such item",
    });
    const handler = handlerWith({
      authoriser: new BearerAuthoriser({ token: SECRET }),
      headers: { "x-api-key": SECRET, cookie: `id=${SECRET}` },
    });
    const error = await failure(handler.get(server.url(`/items?api_key=${SECRET}&page=2`)));
    expect(error).toBeInstanceOf(ResponseError);
    // The request reached the server with its credentials: only what is shown is redacted.
    expect(server.received[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expectNoSecret(error);
    const response = error as ResponseError;
    expect(response.message).toContain(`GET ${server.url("/items?api_key=REDACTED&page=2")} answered 404 Not Found`);
    expect(response.status).toBe(404);
    expect(response.request?.method).toBe("GET");
    expect(response.request?.headers.get("authorization")).toBe("REDACTED");
    expect(response.request?.headers.get("x-api-key")).toBe("REDACTED");
    expect(response.response.headers.get("set-cookie")).toBe("REDACTED");
    expect(await response.response.text()).toBe("no such item");
  });

  it("a RequestError after retries, and its ResponseError cause", async () => {
    server.script("/busy?token=tok-9f8e7d6c5b4a", { status: 503, body: "busy" });
    const handler = handlerWith({ authoriser: new BasicAuthoriser({ username: "me", password: SECRET }) });
    const error = await failure(handler.get(server.url(`/busy?token=${SECRET}`)));
    expect(error).toBeInstanceOf(RequestError);
    expect(error.cause).toBeInstanceOf(ResponseError);
    expectNoSecret(error);
    expect(error.message).toContain(`GET ${server.url("/busy?token=REDACTED")} failed after 3 failures`);
    expect((error as RequestError).request?.url).toBe(server.url("/busy?token=REDACTED"));
  });

  it("a network failure", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const handler = handlerWith({ authoriser: new BearerAuthoriser({ token: SECRET }) });
    const error = await failure(handler.get(`http://127.0.0.1:${port}/x?access_token=${SECRET}`));
    expect(error).toBeInstanceOf(RequestError);
    expect(error.cause).toBeDefined();
    expectNoSecret(error);
    expect(error.message).toContain("access_token=REDACTED");
  });

  it("a URL with a user name and password is refused without showing them", async () => {
    const handler = handlerWith();
    const error = await failure(handler.get(`http://me:${SECRET}@127.0.0.1:1/x`));
    expect(error).toBeInstanceOf(TypeError);
    expectNoSecret(error);
    expect(error.message).toContain("http://REDACTED:REDACTED@127.0.0.1:1/x");
  });

  it("an OAuth2 token endpoint error hides the client secret's Basic header", async () => {
    const authoriser = new OAuth2ClientCredentials({
      tokenUrl: server.url("/token"),
      clientId: "client-1",
      clientSecret: SECRET,
    });
    const handler = handlerWith({ authoriser });
    const error = await failure(handler.get(server.url("/anything")));
    expect(error).toBeInstanceOf(ResponseError);
    expect(server.received[0]?.headers.authorization).toBe(`Basic ${FORMS[1]}`);
    expectNoSecret(error);
    expect((error as ResponseError).request?.headers.get("authorization")).toBe("REDACTED");
    expect(error.message).toContain("answered 401: invalid_client");
  });

  it("a status handler's own error built from the request it was given", async () => {
    server.script("/teapot", { status: 418, body: "short and stout" });
    const handler = handlerWith({
      authoriser: new BearerAuthoriser({ token: SECRET }),
      responseHandlers: [
        {
          statuses: [418],
          handle: async (context) => {
            throw context.error(`(sent with ${context.request.headers.get("authorization")})`);
          },
        },
      ],
    });
    const error = await failure(handler.get(server.url("/teapot")));
    expectNoSecret(error);
    expect(error.message).toContain("(sent with REDACTED)");
  });
});
