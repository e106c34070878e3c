import { describe, expect, it } from "vitest";
import { Breaker, type BreakerState, checkBreaker } from "../../src/session/breaker.js";

function breaker(threshold = 3, coolDown = 1_000) {
  let now = 0;
  const changes: BreakerState[] = [];
  const b = new Breaker(
    { threshold, coolDown },
    (state) => changes.push(state),
    () => now,
  );
  return { b, changes, advance: (ms: number) => (now += ms) };
}

describe("circuit breaker", () => {
  it("opens after the threshold of failures in a row, and a success in between resets the count", () => {
    const { b, changes } = breaker();
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    expect(b.allow()).toBe(true);
    b.failure();
    expect(changes).toEqual(["open"]);
    expect(b.allow()).toBe(false);
    expect(b.stats()).toMatchObject({ state: "open", failures: 3, opened: 1 });
  });

  it("lets one probe through after the cool-down; a failed probe opens it again, a good one closes it", () => {
    const { b, changes, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    advance(999);
    expect(b.allow()).toBe(false);
    advance(1);
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false); // one probe at a time
    b.failure();
    expect(b.allow()).toBe(false);
    advance(1_000);
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.allow()).toBe(true);
    expect(changes).toEqual(["open", "half-open", "open", "half-open", "closed"]);
  });

  it("lets another request probe when the probe did not use the cache", () => {
    const { b, advance } = breaker(1);
    b.failure();
    advance(1_000);
    expect(b.allow()).toBe(true);
    b.release();
    expect(b.allow()).toBe(true);
  });

  it("checks its options", () => {
    expect(checkBreaker(false)).toBe(false);
    expect(() => checkBreaker({ threshold: 0 })).toThrow(RangeError);
    expect(() => checkBreaker({ coolDown: -1 })).toThrow(/coolDown/);
    expect(() => checkBreaker("on")).toThrow(/breaker must be/);
  });
});
