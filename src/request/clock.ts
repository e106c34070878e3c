/**
 * The source of time for timers and request handlers: what time it is, and how to wait. Replace it
 * in tests with a fake that records the delays asked for instead of waiting.
 *
 * @example
 * const delays: number[] = [];
 * const clock: Clock = { now: () => 0, sleep: async (ms) => void delays.push(ms) };
 */
export interface Clock {
  /** The time, in epoch milliseconds. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds; rejects with the signal's reason if it is aborted first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (ms <= 0 && signal === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timeout);
        reject(signal?.reason);
      };
      const timeout = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};
