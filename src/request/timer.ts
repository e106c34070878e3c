import { describeValue } from "../describe.js";
import { type Clock, systemClock } from "./clock.js";

/** The most increases a timer may allow when it is bounded, so that its totals stay cheap to work out. */
export const MAX_INCREASES = 10_000;

/** Options of every timer. Times are in milliseconds. */
export interface TimerOptions {
  /**
   * The value the timer starts at, and returns to on `reset()`, in milliseconds.
   * @default 1000 (2 for the power timers, whose growth needs a value above 1)
   * @example { initial: 250 }
   */
  initial?: number;
  /**
   * How much of each wait may be left out at random, as a fraction of the value: a wait lasts between
   * `value × (1 − jitter)` and `value`. Spreads out clients that would otherwise retry in step.
   * @default 0
   * @example { jitter: 0.2 } // waits between 80% and 100% of the value
   */
  jitter?: number;
  /**
   * The clock that `wait()` sleeps on. Replace it in tests to record delays instead of waiting.
   * @default systemClock
   * @example { clock: { now: () => 0, sleep: async (ms) => void delays.push(ms) } }
   */
  clock?: Clock;
  /**
   * The source of randomness for `jitter`: a function returning a number from 0 (included) to 1.
   * @default Math.random
   * @example { jitter: 0.5, random: () => 0.5 } // always waits 75% of the value
   */
  random?: () => number;
}

/**
 * A value in milliseconds that grows by a rule each time it is increased, and a way to wait for it.
 * Request handlers use one timer to pace requests and one per request to back off between retries.
 *
 * A timer is bounded by a number of increases ({@link CountTimer}) or by a ceiling on its value
 * ({@link CeilingTimer}); `Infinity` for either leaves it unbounded.
 *
 * @example
 * const timer = new GeometricCountTimer({ initial: 250, count: 3, factor: 2 });
 * while (timer.canIncrease) {
 *   await timer.wait(); // 250, 500, then 1000 ms
 *   timer.increase();
 * }
 * timer.total; // 250 + 500 + 1000 + 2000 = 3750
 */
export abstract class Timer {
  /** The value the timer starts at, in milliseconds. */
  readonly initial: number;
  /** The fraction of each wait that may be left out at random. */
  readonly jitter: number;
  /** How many times the timer can be increased from its initial value in all (`Infinity` when unbounded). */
  abstract readonly count: number;
  /** The largest value the timer can reach (`Infinity` when unbounded). */
  abstract readonly final: number;

  protected readonly clock: Clock;
  protected readonly random: () => number;
  protected current: number;
  protected increases = 0;

  constructor(options: TimerOptions = {}, defaultInitial = 1000) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`timer options must be an object, got ${describeValue(options)}`);
    }
    this.initial = checkNumber(options.initial ?? defaultInitial, "initial", 0);
    this.jitter = checkNumber(options.jitter ?? 0, "jitter", 0, 1);
    if (options.clock !== undefined && typeof options.clock?.sleep !== "function") {
      throw new TypeError(`clock must have a sleep(ms) method, got ${describeValue(options.clock)}`);
    }
    if (options.random !== undefined && typeof options.random !== "function") {
      throw new TypeError(
        `random must be a function returning a number from 0 to 1, got ${describeValue(options.random)}`,
      );
    }
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.current = this.initial;
  }

  /** The next value after `value`, by the timer's rule (within its ceiling, if it has one). */
  protected abstract next(value: number): number;

  /** The current value, in milliseconds. */
  get value(): number {
    return this.current;
  }

  /** How many times the timer has been increased since it was created or reset. */
  get counter(): number {
    return this.increases;
  }

  /** How many more times the timer can be increased. */
  get countRemaining(): number {
    return this.count - this.increases;
  }

  /** Whether the timer can be increased again. */
  get canIncrease(): boolean {
    return this.increases < this.count;
  }

  /** The sum of every value the timer takes, from the initial to the final one. */
  get total(): number {
    return this.#sum(this.initial, this.count);
  }

  /** The sum of the values still to come, not counting the current one. */
  get totalRemaining(): number {
    return this.#sum(this.current, this.countRemaining) - this.current;
  }

  /** Moves to the next value; resolves to false, changing nothing, when the timer cannot be increased. */
  increase(): boolean {
    if (!this.canIncrease) return false;
    this.current = this.next(this.current);
    this.increases++;
    return true;
  }

  /** Returns the timer to its initial value and count. */
  reset(): void {
    this.current = this.initial;
    this.increases = 0;
  }

  /** How long the next `wait()` lasts: the value, less a random share of it when there is jitter. */
  delay(): number {
    return this.jitter === 0 ? this.current : this.current * (1 - this.jitter * this.random());
  }

  /** Waits for the current value (less any jitter); rejects with the signal's reason if it is aborted. */
  wait(signal?: AbortSignal): Promise<void> {
    return this.clock.sleep(this.delay(), signal);
  }

  /**
   * Waits `ms` milliseconds on the timer's clock: `wait()` for a delay already drawn with `delay()`
   * (a request handler draws it first, to say how long it waits).
   */
  waitFor(ms: number, signal?: AbortSignal): Promise<void> {
    return this.clock.sleep(ms, signal);
  }

  /**
   * A copy of this timer, reset to its initial value. A request handler gives each request its own
   * copy of the retry timer, so that parallel requests do not share a backoff. The copy holds the
   * same fields as this timer: a subclass that keeps state in `#private` fields overrides this.
   */
  clone(): this {
    const copy = Object.assign(Object.create(Object.getPrototypeOf(this)) as this, this);
    copy.reset();
    return copy;
  }

  /** The sum of `value` and the `increases` values after it. */
  #sum(value: number, increases: number): number {
    if (increases === Number.POSITIVE_INFINITY) return this.next(value) === value && value === 0 ? 0 : Infinity;
    let sum = value;
    for (let i = 0; i < increases; i++) {
      const next = this.next(value);
      if (next === value) return sum + value * (increases - i); // the value no longer changes
      value = next;
      sum += value;
    }
    return sum;
  }
}

// -------------------------------------------------------------------------------------------------
// Count timers

/** Options of every count timer. */
export interface CountTimerOptions extends TimerOptions {
  /**
   * How many times the timer can be increased: a whole number from 1 to 10,000, or `Infinity` for no
   * limit. For a retry timer, the number of retries.
   * @example { count: 3 }
   */
  count: number;
}

/** A timer that can be increased a set number of times. */
export abstract class CountTimer extends Timer {
  readonly count: number;

  constructor(options: CountTimerOptions, defaultInitial?: number) {
    super(options, defaultInitial);
    this.count = checkCount(options.count);
  }

  get final(): number {
    if (this.count !== Number.POSITIVE_INFINITY) {
      let value = this.initial;
      for (let i = 0; i < this.count; i++) value = this.next(value);
      return value;
    }
    return this.next(this.initial) === this.initial ? this.initial : Infinity;
  }
}

/** Options of a {@link StepCountTimer}. */
export interface StepCountTimerOptions extends CountTimerOptions {
  /**
   * How much each increase adds, in milliseconds (0 keeps the value as it is).
   * @default 1000
   * @example { initial: 0, count: 3, step: 200 } // 0, 200, 400, 600
   */
  step?: number;
}

/**
 * Adds a fixed step on each increase, a set number of times.
 *
 * @example
 * // Three retries, 200 ms apart more each time: waits of 0, 200 and 400 ms.
 * const retryTimer = new StepCountTimer({ initial: 0, count: 3, step: 200 });
 */
export class StepCountTimer extends CountTimer {
  /** What each increase adds, in milliseconds. */
  readonly step: number;

  constructor(options: StepCountTimerOptions) {
    super(options);
    this.step = checkNumber(options.step ?? 1000, "step", 0);
  }

  protected next(value: number): number {
    return value + this.step;
  }
}

/** Options of a {@link GeometricCountTimer}. */
export interface GeometricCountTimerOptions extends CountTimerOptions {
  /**
   * What each increase multiplies the value by: at least 1.
   * @default 2
   * @example { initial: 250, count: 4, factor: 2 } // 250, 500, 1000, 2000, 4000
   */
  factor?: number;
}

/**
 * Multiplies the value by a factor on each increase, a set number of times: exponential backoff.
 *
 * @example
 * const retryTimer = new GeometricCountTimer({ initial: 250, count: 3, factor: 2 }); // 250, 500, 1000 ms
 */
export class GeometricCountTimer extends CountTimer {
  /** What each increase multiplies the value by. */
  readonly factor: number;

  constructor(options: GeometricCountTimerOptions) {
    super(options);
    this.factor = checkNumber(options.factor ?? 2, "factor", 1);
  }

  protected next(value: number): number {
    return value * this.factor;
  }
}

/** Options of a {@link PowerCountTimer}. */
export interface PowerCountTimerOptions extends CountTimerOptions {
  /**
   * The power each increase raises the value (in milliseconds) to: at least 1. The value grows only
   * when it is above 1.
   * @default 2
   * @example { initial: 2, count: 4, exponent: 2 } // 2, 4, 16, 256, 65536
   */
  exponent?: number;
}

/**
 * Raises the value to a power on each increase, a set number of times: a backoff that grows very fast.
 *
 * @example
 * const retryTimer = new PowerCountTimer({ initial: 10, count: 2, exponent: 2 }); // 10, 100, 10000 ms
 */
export class PowerCountTimer extends CountTimer {
  /** The power each increase raises the value to. */
  readonly exponent: number;

  constructor(options: PowerCountTimerOptions) {
    super(options, 2);
    this.exponent = checkNumber(options.exponent ?? 2, "exponent", 1);
  }

  protected next(value: number): number {
    return value ** this.exponent;
  }
}

// -------------------------------------------------------------------------------------------------
// Ceiling timers

/** Options of every ceiling timer. */
export interface CeilingTimerOptions extends TimerOptions {
  /**
   * The ceiling: the largest value the timer reaches, in milliseconds, at least `initial`; `Infinity`
   * for none. The timer can be increased until it gets there (at most 10,000 times).
   * @example { initial: 0, final: 1000, step: 100 }
   */
  final: number;
}

/** A timer that can be increased until its value reaches a ceiling. */
export abstract class CeilingTimer extends Timer {
  readonly final: number;
  readonly count: number;

  /** `grow` is the rule without the ceiling; it must be a pure function of the value. */
  constructor(options: CeilingTimerOptions, grow: (value: number) => number, defaultInitial?: number) {
    super(options, defaultInitial);
    const final = checkNumber(options.final, "final", this.initial);
    this.final = final;
    this.grow = grow;
    this.count = final === Number.POSITIVE_INFINITY ? Infinity : this.#countToFinal();
  }

  /** The rule without the ceiling. */
  protected readonly grow: (value: number) => number;

  protected next(value: number): number {
    return Math.min(this.final, this.grow(value));
  }

  #countToFinal(): number {
    let value = this.initial;
    let count = 0;
    while (value < this.final) {
      const next = this.next(value);
      if (next <= value) {
        throw new RangeError(
          `${this.constructor.name} never reaches its final value ${this.final} from ${value}: ` +
            "choose a rule that makes the value grow",
        );
      }
      value = next;
      if (++count > MAX_INCREASES) {
        throw new RangeError(
          `${this.constructor.name} would take more than ${MAX_INCREASES} increases to reach its final value ` +
            `${this.final} from ${this.initial}: choose a larger step or factor, or a lower final value`,
        );
      }
    }
    return count;
  }
}

/** Options of a {@link StepCeilingTimer}. */
export interface StepCeilingTimerOptions extends CeilingTimerOptions {
  /**
   * How much each increase adds, in milliseconds: above 0.
   * @default 1000
   * @example { initial: 0, final: 1000, step: 100 } // 0, 100, …, 1000
   */
  step?: number;
}

/**
 * Adds a fixed step on each increase, up to a ceiling. The default wait timer of a request handler is
 * one: each 429 answer slows the pace of requests a little more, up to the ceiling.
 *
 * @example
 * const waitTimer = new StepCeilingTimer({ initial: 0, final: 1000, step: 100 });
 */
export class StepCeilingTimer extends CeilingTimer {
  /** What each increase adds, in milliseconds. */
  readonly step: number;

  constructor(options: StepCeilingTimerOptions) {
    const step = checkNumber(options?.step ?? 1000, "step", 0, Number.POSITIVE_INFINITY, true);
    super(options, (value) => value + step);
    this.step = step;
  }
}

/** Options of a {@link GeometricCeilingTimer}. */
export interface GeometricCeilingTimerOptions extends CeilingTimerOptions {
  /**
   * What each increase multiplies the value by: above 1 (and `initial` must be above 0).
   * @default 2
   * @example { initial: 100, final: 10_000, factor: 2 } // 100, 200, 400, …, 6400, 10000
   */
  factor?: number;
}

/**
 * Multiplies the value by a factor on each increase, up to a ceiling.
 *
 * @example
 * const retryTimer = new GeometricCeilingTimer({ initial: 100, final: 10_000, factor: 2 });
 */
export class GeometricCeilingTimer extends CeilingTimer {
  /** What each increase multiplies the value by. */
  readonly factor: number;

  constructor(options: GeometricCeilingTimerOptions) {
    const factor = checkNumber(options?.factor ?? 2, "factor", 1, Number.POSITIVE_INFINITY, true);
    super(options, (value) => value * factor);
    this.factor = factor;
  }
}

/** Options of a {@link PowerCeilingTimer}. */
export interface PowerCeilingTimerOptions extends CeilingTimerOptions {
  /**
   * The power each increase raises the value (in milliseconds) to: above 1 (and `initial` must be
   * above 1).
   * @default 2
   * @example { initial: 2, final: 60_000, exponent: 2 } // 2, 4, 16, 256, 60000
   */
  exponent?: number;
}

/**
 * Raises the value to a power on each increase, up to a ceiling.
 *
 * @example
 * const retryTimer = new PowerCeilingTimer({ initial: 2, final: 60_000, exponent: 2 });
 */
export class PowerCeilingTimer extends CeilingTimer {
  /** The power each increase raises the value to. */
  readonly exponent: number;

  constructor(options: PowerCeilingTimerOptions) {
    const exponent = checkNumber(options?.exponent ?? 2, "exponent", 1, Number.POSITIVE_INFINITY, true);
    super(options, (value) => value ** exponent, 2);
    this.exponent = exponent;
  }
}

// -------------------------------------------------------------------------------------------------

/**
 * Checks a number option: finite, from `min` (or above it when `aboveMin`) to `max`. Throws a
 * `RangeError` (a `TypeError` for a value that is not a number) that names the option. `final` may
 * also be `Infinity`.
 */
function checkNumber(
  value: unknown,
  option: string,
  min: number,
  max = Number.POSITIVE_INFINITY,
  aboveMin = false,
): number {
  if (typeof value !== "number") {
    throw new TypeError(`${option} must be a number, got ${describeValue(value)}`);
  }
  const infiniteOk = option === "final" && value === Number.POSITIVE_INFINITY;
  const bounds = `${aboveMin ? "above" : "at least"} ${min}${max === Number.POSITIVE_INFINITY ? "" : ` and at most ${max}`}`;
  if (Number.isNaN(value) || (!Number.isFinite(value) && !infiniteOk)) {
    throw new RangeError(`${option} must be a finite number ${bounds}, got ${value}`);
  }
  if (value < min || (aboveMin && value === min) || value > max) {
    throw new RangeError(`${option} must be ${bounds}, got ${value}`);
  }
  return value;
}

function checkCount(value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`count must be a number of increases, got ${describeValue(value)}`);
  }
  if (value === Number.POSITIVE_INFINITY) return value;
  if (!Number.isInteger(value) || value < 1 || value > MAX_INCREASES) {
    throw new RangeError(`count must be a whole number from 1 to ${MAX_INCREASES}, or Infinity, got ${value}`);
  }
  return value;
}
