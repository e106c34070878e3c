/**
 * The source of time for timers and request handlers: what time it is, and how to wait. Replace it
 * in tests with a fake that records the delays asked for instead of waiting.
 *
 * @example
 * const delays: number[] = [];
 * const clock: Clock = { now: () => 0, sleep: async (ms) => void delays.push(ms) };
 */
export interface Clock {
  /** The time, in epoch milliseconds: for HTTP dates and instants that are stored. */
  now(): number;
  /**
   * Milliseconds from an arbitrary origin, never going back: durations and the pace of requests are
   * measured with it, so that a step of the wall clock does not change them. Without it, `now()`
   * serves (a fake clock that only moves forward needs nothing more).
   * @default performance.now() for systemClock
   */
  monotonic?(): number;
  /**
   * Resolves after `ms` milliseconds; rejects with the signal's reason if it is aborted first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The longest single timer that `setTimeout` keeps: 2³¹ − 1 ms, about 24.8 days. A longer delay
 * given to `setTimeout` fires after 1 ms, so {@link systemClock} waits longer delays in chunks of
 * at most this.
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** Milliseconds on the clock's monotonic scale. */
export function monotonicNow(clock: Clock): number {
  return clock.monotonic !== undefined ? clock.monotonic() : clock.now();
}

/**
 * The real clock: `Date.now` for the time, `performance.now` for durations, and `setTimeout` to
 * wait. A wait longer than `setTimeout` can hold ({@link MAX_TIMER_DELAY}) is waited in chunks up to
 * a deadline on the monotonic clock, so it lasts as long as asked; `Infinity` waits until aborted.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!(ms > 0) && signal === undefined) return Promise.resolve();
    const deadline = performance.now() + Math.max(0, ms);
    return new Promise((resolve, reject) => {
      let timeout: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        clearTimeout(timeout);
        reject(signal?.reason);
      };
      const schedule = (delay: number) => {
        timeout = setTimeout(
          () => {
            const left = deadline - performance.now();
            if (left >= 1) return schedule(left);
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
          Math.min(Math.max(0, delay), MAX_TIMER_DELAY),
        );
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      schedule(Math.max(0, ms));
    });
  },
};
