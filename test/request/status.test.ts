import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BasicAuthoriser,
  BearerAuthoriser,
  GeometricCountTimer,
  JSONPayloadHandler,
  RateLimitStatusHandler,
  RequestError,
  RequestfulError,
  RequestHandler,
  type RequestHandlerOptions,
  ResponseError,
  type StatusHandler,
  StepCeilingTimer,
  StepCountTimer,
} from "../../src/index.js";
import { retryDelay } from "../../src/request/retry-after.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { ScriptedServer } from "../helpers/scripted-server.js";

let server: ScriptedServer;
let clock: FakeClock;
const handlers: RequestHandler<unknown>[] = [];

beforeAll(async () => {
  server = await ScriptedServer.start();
});
afterAll(() => server.close());
afterEach(async () => {
  for (const handler of handlers.splice(0)) await handler.close();
  server.clearLog();
});

/** A handler on a fake clock, with a retry timer of 3 retries after 100, 200 and 300 ms. */
function handlerWith<T = string>(options: RequestHandlerOptions<T> = {}): RequestHandler<T> {
  clock = new FakeClock();
  const handler = RequestHandler.create<T>({
    clock,
    retryTimer: new StepCountTimer({ initial: 100, count: 3, step: 100, clock }),
    ...options,
  });
  handlers.push(handler as RequestHandler<unknown>);
  return handler;
}

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

describe("methods", () => {
  it("refuses an unknown method with a TypeError before anything is sent", async () => {
    server.script("/any", { status: 200, body: "ok" });
    const handler = handlerWith();
    const error = await failure(handler.request("FETCH", server.url("/any")));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe(
      'unknown method a string ("FETCH"): a request handler sends GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
    );
    await expect(handler.get("/relative")).rejects.toThrow(
      'a request needs an absolute URL, got a string ("/relative")',
    );
    expect(server.count()).toBe(0);
  });

  it("sends each method, with the method in any case", async () => {
    server.route("/echo", (request) => ({ status: 200, body: `${request.method} ${request.body}` }));
    const handler = handlerWith();
    const url = server.url("/echo");
    expect(await handler.get(url)).toBe("GET ");
    expect(await handler.post(url, { body: "a" })).toBe("POST a");
    expect(await handler.put(url, { body: "b" })).toBe("PUT b");
    expect(await handler.patch(url, { json: { c: 1 } })).toBe('PATCH {"c":1}');
    expect(await handler.delete(url)).toBe("DELETE ");
    expect(await handler.options(url)).toBe("OPTIONS ");
    expect(await handler.request("post", url, { body: "d" })).toBe("POST d");
    expect((await handler.head(url)).get("content-type")).toBe("text/plain; charset=utf-8");
    expect(server.received.find((request) => request.method === "PATCH")?.headers["content-type"]).toBe(
      "application/json",
    );
  });

  it("resolves a response without content to undefined, except for GET", async () => {
    server.script("/empty", { status: 204 });
    const handler = handlerWith();
    expect(await handler.delete(server.url("/empty"))).toBeUndefined();
    expect(await handler.get(server.url("/empty"))).toBe("");
  });
});

describe("5xx and network errors", () => {
  it("retries a 5xx after the retry timer's wait, then returns the payload", async () => {
    server.script(
      "/flaky",
      { status: 500, body: "down" },
      { status: 503, body: "still down" },
      { status: 200, body: "up" },
    );
    const handler = handlerWith();
    expect(await handler.get(server.url("/flaky"))).toBe("up");
    expect(server.count("/flaky")).toBe(3);
    expect(clock.sleeps).toEqual([100, 200]);
  });

  it("retries a connection reset, then returns the payload", async () => {
    server.script("/reset", { reset: true }, { status: 200, body: "back" });
    const handler = handlerWith();
    expect(await handler.get(server.url("/reset"))).toBe("back");
    expect(server.count("/reset")).toBe(2);
    expect(clock.sleeps).toEqual([100]);
  });

  it("retries a body cut off part way, then returns the payload", async () => {
    server.script("/cut", { status: 200, body: "x".repeat(2000), cut: true }, { status: 200, body: "whole" });
    const handler = handlerWith();
    expect(await handler.get(server.url("/cut"))).toBe("whole");
    expect(server.count("/cut")).toBe(2);
    expect(clock.sleeps).toEqual([100]);
  });

  it("when the retries run out, rejects with a RequestError whose cause is the last failure", async () => {
    server.script("/down", { status: 502, body: "bad gateway" });
    const handler = handlerWith();
    const error = await failure(handler.get(server.url("/down")));
    expect(error).toBeInstanceOf(RequestError);
    expect(error).toBeInstanceOf(RequestfulError);
    const { message, cause, request } = error as RequestError;
    expect(message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/down failed after 4 failures: GET .* answered 502 Bad Gateway: bad gateway$/,
    );
    expect(cause).toBeInstanceOf(ResponseError);
    expect((cause as ResponseError).status).toBe(502);
    expect(request?.url).toBe(server.url("/down"));
    expect(server.count("/down")).toBe(4);
    expect(clock.sleeps).toEqual([100, 200, 300]);
  });

  it("a network failure that outlasts the retries is the cause of the RequestError", async () => {
    server.script("/gone", { reset: true });
    const handler = handlerWith();
    const error = (await failure(handler.get(server.url("/gone")))) as RequestError;
    expect(error).toBeInstanceOf(RequestError);
    expect(error.cause).toBeInstanceOf(TypeError); // fetch's "fetch failed"
    expect(server.count("/gone")).toBe(4);
  });

  it("with no retry timer, fails on the first failure", async () => {
    server.script("/once", { status: 500, body: "no" });
    const handler = handlerWith({ retryTimer: null });
    expect(await failure(handler.get(server.url("/once")))).toBeInstanceOf(RequestError);
    expect(server.count("/once")).toBe(1);
  });

  it("does not retry a POST that failed, unless told to", async () => {
    server.script("/orders", { status: 500, body: "oops" }, { status: 201, body: "created" });
    const strict = handlerWith();
    const error = (await failure(strict.post(server.url("/orders"), { body: "x" }))) as ResponseError;
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.message).toContain("a POST request is not retried (see retryMethods)");
    expect(server.count("/orders")).toBe(1);

    const lenient = handlerWith({ retryMethods: ["GET", "POST"] });
    expect(await lenient.post(server.url("/orders"), { body: "x" })).toBe("created");
    expect(server.count("/orders")).toBe(2);
  });

  it("gives each request its own retry timer from a function", async () => {
    server.script("/f", { status: 500 }, { status: 200, body: "ok" });
    let made = 0;
    const handler = handlerWith({
      retryTimer: () => {
        made++;
        return new StepCountTimer({ initial: 7, count: 1, clock });
      },
    });
    expect(await handler.get(server.url("/f"))).toBe("ok");
    expect([made, clock.sleeps]).toEqual([1, [7]]);
  });
});

describe("other 4xx", () => {
  it("rejects with a ResponseError carrying the status, the response and its body text", async () => {
    server.script("/missing", { status: 404, body: { error: "no such track" } });
    const handler = handlerWith();
    const error = (await failure(handler.get(server.url("/missing")))) as ResponseError;
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.name).toBe("ResponseError");
    expect(error.status).toBe(404);
    expect(error.body).toBe('{"error":"no such track"}');
    expect(error.response.status).toBe(404);
    expect(await error.response.json()).toEqual({ error: "no such track" });
    expect(error.request?.method).toBe("GET");
    expect(error.message).toBe(`GET ${server.url("/missing")} answered 404 Not Found: {"error":"no such track"}`);
    expect(server.count("/missing")).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });
});

describe("custom status handlers", () => {
  it("take their status over the defaults", async () => {
    server.script("/maybe", { status: 404, body: "nothing here" });
    const seen: number[] = [];
    const notFound: StatusHandler = {
      statuses: [404],
      handle: async (context) => {
        seen.push(context.response.status, context.attempt);
        return "accept";
      },
    };
    const handler = handlerWith({ responseHandlers: [notFound] });
    expect(await handler.get(server.url("/maybe"))).toBe("nothing here");
    expect(seen).toEqual([404, 1]);
  });

  it("can retry at once, or leave the wait to the retry timer", async () => {
    server.script("/busy", { status: 409, body: "busy" }, { status: 409, body: "busy" }, { status: 200, body: "free" });
    const actions = ["retry", "backoff"] as const;
    const conflict: StatusHandler = {
      statuses: [409],
      handle: async (context) => actions[context.attempt - 1] ?? "retry",
    };
    const handler = handlerWith({ responseHandlers: [conflict] });
    expect(await handler.get(server.url("/busy"))).toBe("free");
    expect(clock.sleeps).toEqual([100]); // only the backoff waited
  });

  it("a status that no handler takes is a ResponseError", async () => {
    server.script("/teapot", { status: 418, body: "short and stout" });
    const handler = new RequestHandler({ clock: new FakeClock(), statusHandlers: [] });
    handlers.push(handler as RequestHandler<unknown>);
    const error = (await failure(handler.get(server.url("/teapot")))) as ResponseError;
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.message).toContain("418 I'm a Teapot and no status handler takes that status");
  });

  it("refuses a handler without statuses", () => {
    expect(() =>
      RequestHandler.create({ responseHandlers: [{ handle: async () => "accept" } as unknown as StatusHandler] }),
    ).toThrow(/a status handler has statuses and a handle\(context\) method/);
  });
});

describe("401", () => {
  it("asks the authoriser for fresh credentials once, then succeeds", async () => {
    const tokens = ["old", "new"];
    server.route("/me", (request) =>
      request.headers.authorization === "Bearer new" ? { status: 200, body: "me" } : { status: 401, body: "expired" },
    );
    const handler = handlerWith({ authoriser: new BearerAuthoriser({ token: () => tokens.shift() ?? "none" }) });
    expect(await handler.get(server.url("/me"))).toBe("me");
    expect(server.received.map((request) => request.headers.authorization)).toEqual(["Bearer old", "Bearer new"]);
  });

  it("a second 401 is a ResponseError", async () => {
    let n = 0;
    server.script("/me", { status: 401, body: "no" });
    const handler = handlerWith({ authoriser: new BearerAuthoriser({ token: () => `t${n++}` }) });
    const error = (await failure(handler.get(server.url("/me")))) as ResponseError;
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.status).toBe(401);
    expect(error.message).toContain("again, with credentials that the authoriser had just refreshed");
    expect(server.count("/me")).toBe(2);
  });

  it("fixed credentials make the first 401 final", async () => {
    server.script("/me", { status: 401, body: "wrong password" });
    const handler = handlerWith({ authoriser: new BasicAuthoriser({ username: "alice", password: "pw" }) });
    const error = (await failure(handler.get(server.url("/me")))) as ResponseError;
    expect(error.message).toContain("the authoriser has no fresh credentials to offer");
    expect(server.received[0]?.headers.authorization).toBe(`Basic ${Buffer.from("alice:pw").toString("base64")}`);
    expect(server.count("/me")).toBe(1);
  });

  it("without an authoriser, a 401 is a ResponseError at once", async () => {
    server.script("/me", { status: 401 });
    const handler = handlerWith();
    expect(((await failure(handler.get(server.url("/me")))) as Error).message).toContain("there is no authoriser");
  });
});

describe("429", () => {
  const cases: [string, (clock: FakeClock) => Record<string, string>, number][] = [
    ["Retry-After in seconds", () => ({ "retry-after": "3" }), 3000],
    ["Retry-After as an HTTP date", (c) => ({ "retry-after": new Date(c.now() + 5000).toUTCString() }), 5000],
    ["RateLimit-Reset", () => ({ "ratelimit-reset": "7" }), 7000],
    ["RateLimit with t", () => ({ ratelimit: '"default";r=0;t=4' }), 4000],
    ["X-RateLimit-Reset as epoch seconds", (c) => ({ "x-ratelimit-reset": String((c.now() + 6000) / 1000) }), 6000],
    ["X-RateLimit-Reset as seconds to wait", () => ({ "x-ratelimit-reset": "2" }), 2000],
  ];

  it.each(cases)("waits as %s says, then sends again", async (_, headers, expected) => {
    const handler = handlerWith();
    server.script("/limited", { status: 429, headers: headers(clock) }, { status: 200, body: "done" });
    expect(await handler.get(server.url("/limited"))).toBe("done");
    expect(server.count("/limited")).toBe(2);
    expect(clock.sleeps).toEqual([expected]);
  });

  it("a wait longer than the wait timer's ceiling is a ResponseError saying how long the server asked", async () => {
    const handler = handlerWith({ waitTimer: new StepCeilingTimer({ initial: 0, step: 100, final: 30_000, clock }) });
    server.script("/closed", { status: 429, headers: { "retry-after": "120" }, body: "come back later" });
    const error = (await failure(handler.get(server.url("/closed")))) as ResponseError;
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.status).toBe(429);
    expect(error.message).toContain("asked to wait 2 min (Retry-After: 120)");
    expect(error.message).toContain("longer than the ceiling of 30 s");
    expect(server.count("/closed")).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("slows the pace of later requests, and holds them back while it waits", async () => {
    const handler = handlerWith();
    server.script("/a", { status: 429, headers: { "retry-after": "1" } }, { status: 200, body: "a" });
    server.script("/b", { status: 200, body: "b" });
    await handler.get(server.url("/a"));
    expect(handler.waitTimer?.value).toBe(100);
    const before = clock.now();
    await handler.get(server.url("/b"));
    // The retry of /a went out at +1000 ms, so /b waits for the 100 ms pace after it.
    expect(clock.sleeps).toEqual([1000, 100]);
    expect(clock.now()).toBe(before + 100);
  });

  it("without a header, leaves the wait to the retry timer", async () => {
    const handler = handlerWith();
    server.script("/plain", { status: 429 }, { status: 200, body: "ok" });
    expect(await handler.get(server.url("/plain"))).toBe("ok");
    expect(clock.sleeps).toEqual([100]);
  });

  it("gives up after maxRetries answers in a row", async () => {
    const handler = handlerWith({ responseHandlers: [new RateLimitStatusHandler({ maxRetries: 2 })] });
    server.script("/always", { status: 429, headers: { "retry-after": "0" } });
    const error = (await failure(handler.get(server.url("/always")))) as ResponseError;
    expect(error.message).toContain("3 times in a row; gave up after 2 retries");
    expect(server.count("/always")).toBe(3);
  });

  it("retries a POST, which the server did not carry out", async () => {
    const handler = handlerWith();
    server.script("/orders", { status: 429, headers: { "retry-after": "1" } }, { status: 201, body: "created" });
    expect(await handler.post(server.url("/orders"), { body: "x" })).toBe("created");
    expect(server.received.map((request) => request.body)).toEqual(["x", "x"]);
  });
});

describe("payload", () => {
  it("is text by default and JSON with the JSON handler", async () => {
    server.script("/track", { status: 200, body: { id: 1, name: "Track 1" } });
    expect(await handlerWith().get(server.url("/track"))).toBe('{"id":1,"name":"Track 1"}');
    const json = handlerWith({ payloadHandler: new JSONPayloadHandler() });
    expect(await json.get(server.url("/track"))).toEqual({ id: 1, name: "Track 1" });
  });

  it("a body the payload handler refuses is its error, not retried", async () => {
    server.script("/html", { status: 200, body: "<html>" });
    const handler = handlerWith({ payloadHandler: new JSONPayloadHandler() });
    const error = await failure(handler.get(server.url("/html")));
    expect((error as Error).name).toBe("PayloadHandlerError");
    expect(server.count("/html")).toBe(1);
  });
});

describe("aborting", () => {
  it("rejects with the signal's reason, in a backoff wait too", async () => {
    server.script("/slow", { status: 500 });
    const controller = new AbortController();
    const handler = RequestHandler.create({
      retryTimer: new GeometricCountTimer({ initial: 60_000, count: 3 }),
    });
    handlers.push(handler as RequestHandler<unknown>);
    const pending = handler.get(server.url("/slow"), { signal: controller.signal });
    while (server.count("/slow") === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error("user gave up"));
    await expect(pending).rejects.toThrow("user gave up");
  });

  it("a closed handler sends nothing", async () => {
    server.script("/x", { status: 200 });
    const handler = handlerWith();
    await handler.close();
    expect(await failure(handler.get(server.url("/x")))).toBeInstanceOf(RequestError);
    expect(server.count()).toBe(0);
  });
});

describe("options", () => {
  it.each([
    [{ concurrency: 0 }, RangeError, /concurrency must be a whole number of 1 or more, or Infinity, got 0/],
    [{ concurrency: Number.NaN }, RangeError, /concurrency/],
    [{ retryMethods: ["GET", "BREW"] }, TypeError, /unknown method a string \("BREW"\)/],
    [{ waitTimer: 5 as unknown as null }, TypeError, /waitTimer must be a Timer or null/],
    [{ credentials: "yes" as never }, TypeError, /credentials must be "partition", "bypass" or "share"/],
  ])("refuses bad options: %#", (options, type, message) => {
    const make = () => RequestHandler.create(options as RequestHandlerOptions);
    expect(make).toThrow(type);
    expect(make).toThrow(message);
  });
});

describe("reading how long to wait", () => {
  const now = Date.UTC(2030, 0, 1, 12, 0, 0);
  const delay = (headers: Record<string, string>) => retryDelay(new Headers(headers), now)?.ms;

  it("reads each form", () => {
    expect(delay({ "retry-after": "30" })).toBe(30_000);
    expect(delay({ "retry-after": new Date(now + 90_000).toUTCString() })).toBe(90_000);
    expect(delay({ "ratelimit-reset": "12" })).toBe(12_000);
    expect(delay({ ratelimit: '"default";r=0;t=9' })).toBe(9_000);
    expect(delay({ "x-ratelimit-reset": String(now / 1000 + 20) })).toBe(20_000);
    expect(delay({ "x-ratelimit-reset": String(now + 5_000) })).toBe(5_000);
    expect(delay({ "x-ratelimit-reset": "15" })).toBe(15_000);
  });

  it("a date in the past asks for no wait", () => {
    expect(delay({ "retry-after": new Date(now - 60_000).toUTCString() })).toBe(0);
    expect(delay({ "x-ratelimit-reset": String(now / 1000 - 60) })).toBe(0);
  });

  it("Retry-After comes first; an unreadable one gives way to the next header", () => {
    expect(delay({ "retry-after": "5", "x-ratelimit-reset": "50" })).toBe(5_000);
    expect(delay({ "retry-after": "soon", "ratelimit-reset": "7" })).toBe(7_000);
    expect(delay({ "retry-after": "soon" })).toBeUndefined();
    expect(delay({})).toBeUndefined();
  });
});
