import { describe, expect, it } from "vitest";
import { NetworkResponse } from "../../src/session/network-response.js";
import { type Recorded, Recording, recordBody } from "../../src/session/recording.js";
import { readRest } from "../helpers/streams.js";

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

describe("a response over a recording, read whole", () => {
  const respond = (recording: Recording) =>
    new NetworkResponse(recording, { headers: { "content-type": "application/json" } }, "https://example.com/a");

  it("gives the recorded bytes once the cache has them, and leaves the body used", async () => {
    const { body, push, end } = source();
    const r = recorder();
    const response = respond(new Recording(body, 100, r.settle));
    push('{"a":');
    const value = response.json().then((json) => {
      r.events.push("read");
      return json;
    });
    expect(response.bodyUsed).toBe(true);
    expect(response.body).toBe(response.body);
    expect(response.body?.locked).toBe(true);
    push("1}");
    end();
    expect(await value).toEqual({ a: 1 });
    expect(r.events).toEqual(["settled", "read"]);
    expect(response.bodyUsed).toBe(true);
    expect(response.body?.locked).toBe(true);
    expect(() => response.clone()).toThrow(TypeError);
    await expect(response.text()).rejects.toThrow(TypeError);
  });

  it("gives json() the value parsed already, once", async () => {
    const recording = new Recording(new Response('{"a":1}').body as ReadableStream<Uint8Array>, 100, async () => {
      recording.parsedJson = { value: "parsed already" };
    });
    expect(await respond(recording).json()).toBe("parsed already");
    expect(recording.parsedJson).toBeUndefined();
  });

  it("reads each whole-body method as Response does", async () => {
    const text = '\uFEFF{"name":"caf\u00e9"}';
    const make = () =>
      respond(new Recording(new Response(text).body as ReadableStream<Uint8Array>, 100, async () => {}));
    expect(await make().text()).toBe(await new Response(text).text());
    expect(await make().json()).toEqual({ name: "café" });
    expect(new Uint8Array(await make().arrayBuffer())).toEqual(new Uint8Array(await new Response(text).arrayBuffer()));
    const blob = await make().blob();
    expect(blob.type).toBe("application/json");
    expect(await blob.text()).toBe(await new Response(text).text());
    await expect(
      respond(new Recording(new Response("{").body as ReadableStream<Uint8Array>, 100, async () => {})).json(),
    ).rejects.toThrow(SyntaxError);
  });

  it("reads a body past the limit from its stream, every byte of it", async () => {
    const r = recorder();
    const response = respond(
      new Recording(new Response("x".repeat(1000)).body as ReadableStream<Uint8Array>, 10, r.settle),
    );
    expect(await response.text()).toBe("x".repeat(1000));
    expect(r.recorded()).toEqual({ complete: false, reason: "too-large" });
  });

  it("rejects with the failure of a body that fails part way", async () => {
    const { body, push, fail } = source();
    const r = recorder();
    const response = respond(new Recording(body, 100, r.settle));
    push("part");
    const read = response.text();
    fail(new Error("connection reset"));
    await expect(read).rejects.toThrow(/connection reset/);
    expect(r.recorded()).toEqual({ complete: false, reason: "failed" });
  });

  it("streams, with every chunk read so far, to a caller that asks for the body", async () => {
    const { body, push, end } = source();
    const r = recorder();
    const response = respond(new Recording(body, 100, r.settle));
    push("one ");
    await new Promise((resolve) => setTimeout(resolve, 5));
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    push("two");
    end();
    const text = await readRest(reader);
    expect(text).toBe("one two");
    expect(r.events).toEqual(["settled"]);
    await expect(response.json()).rejects.toThrow(TypeError);
  });

  it("clones before the body is read: both get it", async () => {
    const response = respond(
      new Recording(new Response("[1]").body as ReadableStream<Uint8Array>, 100, async () => {}),
    );
    const copy = response.clone();
    expect(await copy.json()).toEqual([1]);
    expect(await response.json()).toEqual([1]);
  });
});
