import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RequestHandler, StepCeilingTimer, StepCountTimer } from "../../src/index.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { ScriptedServer } from "../helpers/scripted-server.js";

let server: ScriptedServer;

beforeAll(async () => {
  server = await ScriptedServer.start();
});
afterAll(() => server.close());

describe("concurrency", () => {
  it("Promise.all of 1,000 requests never has more than `concurrency` in flight, and each is retried on its own", async () => {
    server.clearLog();
    const failed = new Set<string>();
    // Every odd item fails once with a 500, then answers; every answer is held back a little so that
    // requests overlap on the server.
    server.route("/items", (request) => {
      const item = new URL(request.path, server.origin).searchParams.get("i") as string;
      if (Number(item) % 2 === 1 && !failed.has(item)) {
        failed.add(item);
        return { status: 500, body: "try again", delay: 1 };
      }
      return { status: 200, body: `item ${item}`, delay: 1 };
    });
    const clock = new FakeClock();
    await using handler = RequestHandler.create({
      clock,
      concurrency: 8,
      waitTimer: null,
      retryTimer: new StepCountTimer({ initial: 10, count: 1, step: 10, clock }),
    });
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => handler.get(server.url(`/items?i=${i}`))));
    expect(results).toEqual(Array.from({ length: 1000 }, (_, i) => `item ${i}`));
    expect(server.count()).toBe(1500);
    expect(server.maxInFlight).toBeLessThanOrEqual(8);
    expect(server.maxInFlight).toBeGreaterThan(1); // they did run side by side
    // Each failed request waited for its own fresh timer's first value: a shared timer would have
    // grown, and run out after one retry.
    expect(clock.sleeps).toEqual(Array.from({ length: 500 }, () => 10));
  });

  it("paces the requests that reach the network by the wait timer, however many run at once", async () => {
    server.clearLog();
    server.script("/paced", { status: 200, body: "ok", delay: 1 });
    const clock = new FakeClock();
    const start = clock.now();
    await using handler = RequestHandler.create({
      clock,
      concurrency: 5,
      waitTimer: new StepCeilingTimer({ initial: 40, final: 40, clock }),
    });
    await Promise.all(Array.from({ length: 200 }, () => handler.get(server.url("/paced"))));
    expect(server.count("/paced")).toBe(200);
    // The first request goes at once; each other one waits for its slot in the pace, 40 ms apart.
    expect(clock.wakes).toHaveLength(199);
    const sends = [start, ...clock.wakes].sort((a, b) => a - b);
    const gaps = sends.slice(1).map((at, i) => at - (sends[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(40);
    expect(server.maxInFlight).toBeLessThanOrEqual(5);
  });

  it("a request waiting for its turn can be aborted", async () => {
    server.script("/hold", { status: 200, body: "ok", delay: 50 });
    await using handler = RequestHandler.create({ concurrency: 1, waitTimer: null });
    const first = handler.get(server.url("/hold"));
    const controller = new AbortController();
    const second = handler.get(server.url("/hold"), { signal: controller.signal });
    controller.abort(new Error("not needed"));
    await expect(second).rejects.toThrow("not needed");
    expect(await first).toBe("ok");
  });
});
