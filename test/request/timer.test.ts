import { describe, expect, it } from "vitest";
import {
  GeometricCeilingTimer,
  GeometricCountTimer,
  PowerCeilingTimer,
  PowerCountTimer,
  StepCeilingTimer,
  StepCountTimer,
  type Timer,
} from "../../src/index.js";
import { FakeClock } from "../helpers/fake-clock.js";

/** Every value a timer takes, from its current one until it can no longer increase. */
function values(timer: Timer): number[] {
  const seen = [timer.value];
  while (timer.increase()) seen.push(timer.value);
  return seen;
}

describe("count timers", () => {
  it("step: adds the step a set number of times", () => {
    const timer = new StepCountTimer({ initial: 100, count: 3, step: 50 });
    expect([timer.count, timer.final, timer.total]).toEqual([3, 250, 100 + 150 + 200 + 250]);
    expect(values(timer)).toEqual([100, 150, 200, 250]);
    expect(timer.canIncrease).toBe(false);
    expect(timer.increase()).toBe(false);
    expect(timer.value).toBe(250);
  });

  it("geometric: multiplies by the factor", () => {
    const timer = new GeometricCountTimer({ initial: 250, count: 3, factor: 2 });
    expect(timer.final).toBe(2000);
    expect(timer.total).toBe(3750);
    expect(values(timer)).toEqual([250, 500, 1000, 2000]);
  });

  it("power: raises to the exponent", () => {
    const timer = new PowerCountTimer({ initial: 2, count: 4, exponent: 2 });
    expect(timer.final).toBe(65536);
    expect(values(timer)).toEqual([2, 4, 16, 256, 65536]);
  });

  it("counts what has been used and what remains, and resets", () => {
    const timer = new StepCountTimer({ initial: 0, count: 3, step: 200 });
    timer.increase();
    expect([timer.value, timer.counter, timer.countRemaining]).toEqual([200, 1, 2]);
    expect(timer.totalRemaining).toBe(400 + 600);
    timer.reset();
    expect([timer.value, timer.counter, timer.countRemaining, timer.totalRemaining]).toEqual([0, 0, 3, 1200]);
  });

  it("with step 0, retries without waiting", () => {
    const timer = new StepCountTimer({ initial: 0, count: 3, step: 0 });
    expect(values(timer)).toEqual([0, 0, 0, 0]);
    expect([timer.final, timer.total]).toEqual([0, 0]);
  });

  it("unbounded with count Infinity", () => {
    const timer = new StepCountTimer({ initial: 10, count: Number.POSITIVE_INFINITY, step: 10 });
    for (let i = 0; i < 20_000; i++) expect(timer.increase()).toBe(true);
    expect(timer.value).toBe(200_010);
    expect([timer.final, timer.total, timer.countRemaining]).toEqual([Infinity, Infinity, Infinity]);
  });
});

describe("ceiling timers", () => {
  it("step: grows to the ceiling and stops there", () => {
    const timer = new StepCeilingTimer({ initial: 0, final: 250, step: 100 });
    expect(timer.count).toBe(3);
    expect(timer.total).toBe(0 + 100 + 200 + 250);
    expect(values(timer)).toEqual([0, 100, 200, 250]);
  });

  it("geometric", () => {
    const timer = new GeometricCeilingTimer({ initial: 100, final: 1000, factor: 2 });
    expect(values(timer)).toEqual([100, 200, 400, 800, 1000]);
    expect(timer.count).toBe(4);
  });

  it("power", () => {
    const timer = new PowerCeilingTimer({ initial: 2, final: 60_000, exponent: 2 });
    expect(values(timer)).toEqual([2, 4, 16, 256, 60_000]);
    expect(timer.total).toBe(2 + 4 + 16 + 256 + 60_000);
  });

  it("a ceiling equal to the initial value allows no increase", () => {
    const timer = new GeometricCeilingTimer({ initial: 500, final: 500 });
    expect([timer.count, timer.canIncrease, timer.increase()]).toEqual([0, false, false]);
  });

  it("refuses a rule that never reaches the ceiling", () => {
    expect(() => new GeometricCeilingTimer({ initial: 0, final: 1000, factor: 2 })).toThrow(
      /never reaches its final value 1000/,
    );
    expect(() => new PowerCeilingTimer({ initial: 1, final: 1000, exponent: 2 })).toThrow(RangeError);
    expect(() => new StepCeilingTimer({ initial: 0, final: 1e9, step: 1 })).toThrow(/more than 10000 increases/);
  });
});

describe("timer options", () => {
  it.each([
    [() => new StepCountTimer({ initial: -1, count: 3 }), RangeError, /initial must be at least 0, got -1/],
    [() => new StepCountTimer({ initial: Number.NaN, count: 3 }), RangeError, /initial must be a finite number/],
    [() => new StepCountTimer({ count: 0 }), RangeError, /count must be a whole number from 1 to 10000/],
    [() => new StepCountTimer({ count: 2.5 }), RangeError, /count must be a whole number/],
    [() => new StepCountTimer({ count: Number.NaN }), RangeError, /count must be a whole number/],
    [() => new StepCountTimer({ count: 3, step: -5 }), RangeError, /step must be at least 0, got -5/],
    [() => new GeometricCountTimer({ count: 3, factor: 0.5 }), RangeError, /factor must be at least 1, got 0.5/],
    [() => new PowerCountTimer({ count: 3, exponent: Number.NaN }), RangeError, /exponent must be a finite number/],
    [() => new StepCeilingTimer({ initial: 500, final: 100 }), RangeError, /final must be at least 500, got 100/],
    [() => new StepCeilingTimer({ final: 5000, step: 0 }), RangeError, /step must be above 0, got 0/],
    [
      () => new StepCountTimer({ count: 3, jitter: 1.5 }),
      RangeError,
      /jitter must be at least 0 and at most 1, got 1.5/,
    ],
    [() => new StepCountTimer({ count: "3" as unknown as number }), TypeError, /count must be a number/],
  ])("refuses bad options: %#", (make, type, message) => {
    expect(make).toThrow(type);
    expect(make).toThrow(message);
  });
});

describe("waiting", () => {
  it("wait() sleeps for the current value on its clock", async () => {
    const clock = new FakeClock();
    const timer = new GeometricCountTimer({ initial: 250, count: 3, clock });
    while (timer.canIncrease) {
      await timer.wait();
      timer.increase();
    }
    expect(clock.sleeps).toEqual([250, 500, 1000]);
  });

  it("jitter leaves out a random share of each wait, never more than the value", async () => {
    const clock = new FakeClock();
    const randoms = [0, 0.5, 1];
    const timer = new StepCountTimer({
      initial: 1000,
      count: 3,
      step: 0,
      jitter: 0.2,
      clock,
      random: () => randoms.shift() ?? 0,
    });
    await timer.wait();
    await timer.wait();
    await timer.wait();
    expect(clock.sleeps).toEqual([1000, 900, 800]);
  });

  it("rejects with the abort reason when the signal is aborted", async () => {
    const timer = new StepCountTimer({ initial: 60_000, count: 1 });
    const controller = new AbortController();
    const waiting = timer.wait(controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
  });

  it("clone() gives a fresh copy with the same rule, apart from the original", () => {
    const timer = new GeometricCountTimer({ initial: 100, count: 3, factor: 3 });
    timer.increase();
    const copy = timer.clone();
    expect(copy).toBeInstanceOf(GeometricCountTimer);
    expect([copy.value, copy.counter]).toEqual([100, 0]);
    copy.increase();
    copy.increase();
    expect([copy.value, timer.value]).toEqual([900, 300]);
  });
});
