import { describe, expect, it } from "vitest";
import { type Recorded, recordBody } from "../../src/session/recording.js";

const bytes = (text: string) => new TextEncoder().encode(text);

/** A body whose chunks the test hands out one by one. */
function source() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    body,
    push: (text: string) => controller.enqueue(bytes(text)),
    end: () => controller.close(),
    fail: (error: Error) => controller.error(error),
  };
}

function recorder() {
  const events: string[] = [];
  let recorded: Recorded | undefined;
  const settle = async (result: Recorded) => {
    recorded = result;
    events.push("settled");
  };
  return { events, settle, recorded: () => recorded };
}

describe("recording a body while the caller streams it", () => {
  it("gives the caller the first chunk before the body ends, and the cache all of it before the stream closes", async () => {
    const { body, push, end } = source();
    const r = recorder();
    const stream = recordBody(body, 100, r.settle) as ReadableStream<Uint8Array>;
    const reader = stream.getReader();
    push("hello ");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("hello ");
    expect(r.recorded()).toBeUndefined();
    push("world");
    end();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("world");
    const last = await reader.read();
    r.events.push("closed");
    expect(last.done).toBe(true);
    expect(r.events).toEqual(["settled", "closed"]);
    const recorded = r.recorded();
    expect(recorded?.complete && new TextDecoder().decode(recorded.bytes)).toBe("hello world");
  });

  it("records a body the caller never reads", async () => {
    const r = recorder();
    recordBody(new Response("unread").body, 100, r.settle);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const recorded = r.recorded();
    expect(recorded?.complete && new TextDecoder().decode(recorded.bytes)).toBe("unread");
  });

  it("gives up recording past the limit, and the caller still gets every byte", async () => {
    const r = recorder();
    const stream = recordBody(new Response("x".repeat(1000)).body, 10, r.settle);
    expect(await new Response(stream).text()).toBe("x".repeat(1000));
    expect(r.recorded()).toEqual({ complete: false, reason: "too-large" });
  });

  it("reports a body that fails part way, and the caller sees the failure", async () => {
    const { body, push, fail } = source();
    const r = recorder();
    const stream = recordBody(body, 100, r.settle) as ReadableStream<Uint8Array>;
    push("part");
    fail(new Error("connection reset"));
    await expect(new Response(stream).text()).rejects.toThrow(/connection reset/);
    expect(r.recorded()).toEqual({ complete: false, reason: "failed" });
  });

  it("keeps recording for the cache when the caller cancels", async () => {
    const { body, push, end } = source();
    const r = recorder();
    const stream = recordBody(body, 100, r.settle) as ReadableStream<Uint8Array>;
    await stream.cancel();
    push("still ");
    push("stored");
    end();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const recorded = r.recorded();
    expect(recorded?.complete && new TextDecoder().decode(recorded.bytes)).toBe("still stored");
  });
});
