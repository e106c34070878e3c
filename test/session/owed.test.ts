/** What `close()` settles before the cache closes, and the bounds it keeps. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { BACKGROUND_GRACE, Owed } from "../../src/session/owed.js";
import { type Recorded, Recording } from "../../src/session/recording.js";

const bytes = (text: string) => new TextEncoder().encode(text);

/** A body that sends one chunk and never ends, and the recording of it. */
function endless() {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes("first"));
    },
  });
  let recorded: Recorded | undefined;
  let stored!: () => void;
  const done = new Promise<void>((resolve) => (stored = resolve));
  const recording = new Recording(body, 1024, async (result) => {
    recorded = result;
    stored();
  });
  return { recording, done, recorded: () => recorded };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Owed", () => {
  it("waits for the work it tracks", async () => {
    const owed = new Owed();
    let finish!: () => void;
    let finished = false;
    owed.track(new Promise<void>((resolve) => (finish = resolve)).then(() => (finished = true)));
    const settled = owed.settle();
    setTimeout(finish, 0);
    await settled;
    expect(finished).toBe(true);
  });

  it("abandons a caller's body that has not ended: not stored, and its stream goes on", async () => {
    const owed = new Owed();
    const { recording, done, recorded } = endless();
    owed.record(recording, done, true);
    await owed.settle();
    expect(recorded()).toEqual({ complete: false, reason: "abandoned" });
    const reader = recording.stream.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first");
    await reader.cancel();
  });

  it("abandons at once a caller's body recorded after settling began", async () => {
    const owed = new Owed();
    await owed.settle();
    const { recording, done, recorded } = endless();
    owed.record(recording, done, true);
    await done;
    expect(recorded()).toEqual({ complete: false, reason: "abandoned" });
  });

  it(`gives background work ${BACKGROUND_GRACE} ms, then aborts it`, async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const owed = new Owed();
    const signal = owed.signal;
    let failure: unknown;
    owed.track(
      new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason))).catch(
        (error: unknown) => {
          failure = error;
        },
      ),
    );
    let settled = false;
    const settling = owed.settle().then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(BACKGROUND_GRACE - 1);
    expect(settled).toBe(false);
    expect(signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await settling;
    expect(signal.aborted).toBe(true);
    expect(owed.aborted(failure)).toBe(true);
    expect(owed.aborted(new Error("other"))).toBe(false);
  });

  it("does not abandon the body of a background revalidation: it is awaited", async () => {
    const owed = new Owed();
    const { recording, done, recorded } = endless();
    owed.record(recording, done, false);
    let settled = false;
    const settling = owed.settle().then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(settled).toBe(false);
    expect(recorded()).toBeUndefined();
    await recording.abandon(); // what the abort of its request does to it, in the end
    await settling;
  });
});
