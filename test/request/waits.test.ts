import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type Clock,
  MAX_TIMER_DELAY,
  RateLimitStatusHandler,
  RequestHandler,
  type RequestHandlerOptions,
  ResponseError,
  type RetryEvent,
  StepCeilingTimer,
  StepCountTimer,
  systemClock,
  type WaitEvent,
} from "../../src/index.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { ScriptedServer } from "../helpers/scripted-server.js";

let server: ScriptedServer;
const handlers: RequestHandler[] = [];

beforeAll(async () => {
  server = await ScriptedServer.start();
});
afterAll(() => server.close());
afterEach(async () => {
  vi.useRealTimers();
  for (const handler of handlers.splice(0)) await handler.close();
  server.clearLog();
});

describe("systemClock", () => {
  it("waits longer than setTimeout can hold in chunks, to the full delay", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const delays: number[] = [];
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, "setTimeout").mockImplementation(((callback: () => void, ms: number) => {
      delays.push(ms);
      return real(callback, ms);
    }) as typeof setTimeout);
    let done = false;
    const wait = systemClock.sleep(3_000_000_000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(3_000_000_000 - MAX_TIMER_DELAY - 1_000);
    await wait;
    expect(done).toBe(true);
    spy.mockRestore();
    expect(delays[0]).toBe(MAX_TIMER_DELAY);
    expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY);
    expect(performance.now()).toBe(3_000_000_000);
  });

  it("an endless wait ends when it is aborted", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const controller = new AbortController();
    const wait = systemClock.sleep(Number.POSITIVE_INFINITY, controller.signal);
    await vi.advanceTimersByTimeAsync(10 * MAX_TIMER_DELAY);
    controller.abort(new Error("stop"));
    await expect(wait).rejects.toThrow("stop");
  });

  it("measures durations on a monotonic clock", () => {
    expect(systemClock.monotonic?.()).toBeCloseTo(performance.now(), -2);
  });
});

describe("waits of a request handler", () => {
  it("a Retry-After of 3,000,000 s with maxWait: Infinity is waited in full before the next send", async () => {
    server.script(
      "/slow",
      { status: 429, headers: { "retry-after": "3000000" }, body: "later" },
      { status: 200, body: "ok" },
    );
    const clock = new FakeClock();
    const handler = RequestHandler.create({
      clock,
      waitTimer: null,
      responseHandlers: [new RateLimitStatusHandler({ maxWait: Number.POSITIVE_INFINITY })],
    });
    handlers.push(handler);
    expect(await handler.get(server.url("/slow"))).toBe("ok");
    expect(clock.sleeps).toEqual([3_000_000_000]);
    expect(server.count("/slow")).toBe(2);
  });

  it("a Retry-After too long for any date is refused with a message, not a RangeError of Date", async () => {
    server.script("/never", { status: 429, headers: { "retry-after": "99999999999999999999" }, body: "no" });
    const handler = RequestHandler.create({ clock: new FakeClock(), waitTimer: null });
    handlers.push(handler);
    const error = await handler.get(server.url("/never")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as Error).message).toContain("(Retry-After: 99999999999999999999): longer than the ceiling of 1 min");
  });

  it("a backward step of the wall clock neither stalls nor hurries paced requests", async () => {
    server.script("/paced", { status: 200, body: "ok" });
    let wall = Date.UTC(2030, 0, 1);
    let elapsed = 0;
    const sleeps: number[] = [];
    const clock: Clock = {
      now: () => wall,
      monotonic: () => elapsed,
      sleep: async (ms) => {
        sleeps.push(ms);
        wall += ms;
        elapsed += ms;
      },
    };
    const handler = RequestHandler.create({
      clock,
      waitTimer: new StepCeilingTimer({ initial: 100, final: 100, clock }),
    });
    handlers.push(handler);
    await handler.get(server.url("/paced"));
    wall -= 3_600_000; // the wall clock is set back an hour
    elapsed += 30;
    await handler.get(server.url("/paced"));
    wall += 7_200_000; // and forward two
    await handler.get(server.url("/paced"));
    expect(sleeps).toEqual([70, 100]);
  });
});

describe("onRetry and onWait", () => {
  function handlerWith(options: RequestHandlerOptions = {}) {
    const clock = new FakeClock();
    const retries: RetryEvent[] = [];
    const waits: WaitEvent[] = [];
    const handler = RequestHandler.create({
      clock,
      waitTimer: null,
      retryTimer: new StepCountTimer({ initial: 100, count: 3, step: 100, clock }),
      onRetry: (event) => retries.push(event),
      onWait: (event) => waits.push(event),
      ...options,
    });
    handlers.push(handler);
    return { clock, handler, retries, waits };
  }

  it("tell each retry of a 5xx with its attempt, status and backoff, with the URL redacted", async () => {
    server.script("/flaky?api_key=k3y-s3cret", { status: 503 }, { status: 502 }, { status: 200, body: "ok" });
    const { handler, retries, waits } = handlerWith();
    expect(await handler.get(server.url("/flaky?api_key=k3y-s3cret"))).toBe("ok");
    const url = server.url("/flaky?api_key=REDACTED");
    expect(retries).toEqual([
      { method: "GET", url, attempt: 1, reason: "status", status: 503, message: "503 Service Unavailable", delay: 100 },
      { method: "GET", url, attempt: 2, reason: "status", status: 502, message: "502 Bad Gateway", delay: 200 },
    ]);
    expect(waits).toEqual([
      { method: "GET", url, attempt: 1, reason: "backoff", delay: 100 },
      { method: "GET", url, attempt: 2, reason: "backoff", delay: 200 },
    ]);
  });

  it("tell a 429's Retry-After: a retry, then a hold of the whole delay", async () => {
    server.script("/limited", { status: 429, headers: { "retry-after": "120" } }, { status: 200, body: "ok" });
    const { handler, retries, waits } = handlerWith({
      responseHandlers: [new RateLimitStatusHandler({ maxWait: 600_000 })],
    });
    expect(await handler.get(server.url("/limited"))).toBe("ok");
    const url = server.url("/limited");
    expect(retries).toEqual([
      {
        method: "GET",
        url,
        attempt: 1,
        reason: "status",
        status: 429,
        message: "429 Too Many Requests",
        delay: 120_000,
      },
    ]);
    expect(waits).toEqual([{ method: "GET", url, attempt: 2, reason: "hold", delay: 120_000 }]);
  });

  it("tell a network failure's retry", async () => {
    server.script("/reset", { reset: true }, { status: 200, body: "ok" });
    const { handler, retries } = handlerWith();
    expect(await handler.get(server.url("/reset"))).toBe("ok");
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1, reason: "network", status: undefined, delay: 100 });
    expect(retries[0]?.message).toMatch(/fetch failed/);
  });

  it("tell the waits of the pace", async () => {
    server.script("/paced", { status: 200, body: "ok" });
    const { handler, waits, clock } = handlerWith({
      waitTimer: new StepCeilingTimer({ initial: 50, final: 50, clock: new FakeClock() }),
    });
    await handler.get(server.url("/paced"));
    await handler.get(server.url("/paced"));
    expect(waits).toEqual([{ method: "GET", url: server.url("/paced"), attempt: 1, reason: "pace", delay: 50 }]);
    expect(clock.sleeps).toEqual([50]);
  });
});
