/**
 * A clock for tests: time moves only when something sleeps on it, and every sleep is recorded, so a
 * test asserts the delays that were scheduled, never the time that passed.
 *
 * A sleep moves the time to its end at once, when it is asked for: the instant each sleeper was
 * promised (`wakes`) is exact, even when many sleep side by side.
 */
import type { Clock } from "../../src/request/clock.js";

export class FakeClock implements Clock {
  /** The time, in epoch milliseconds. */
  time: number;
  /** Every delay asked for, in order. */
  readonly sleeps: number[] = [];
  /** The instant each sleep ends, in order. */
  readonly wakes: number[] = [];

  /** Starts at a whole second, so that HTTP dates (which have no milliseconds) land exactly. */
  constructor(start = Date.UTC(2030, 0, 1, 12, 0, 0)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.time += Math.max(0, ms);
    this.wakes.push(this.time);
  }
}
