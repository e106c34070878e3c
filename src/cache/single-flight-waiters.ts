/**
 * Those waiting for locks to be released, woken by a message from the store (Redis pub/sub,
 * PostgreSQL NOTIFY) or by a timer at the end of the lease, whichever comes first.
 */
export class Waiters {
  readonly #byId = new Map<string, Set<() => void>>();

  /** Wakes every waiter of `id`. */
  wake(id: string): void {
    const waiting = this.#byId.get(id);
    if (waiting === undefined) return;
    this.#byId.delete(id);
    for (const resolve of waiting) resolve();
  }

  /**
   * Waits for `id` to be woken, for at most `ms`, or until `signal` aborts (rejecting with its
   * reason). `check` runs once the waiter is registered, so that a release between the check and
   * the wait is not missed: it resolves to how long the lock may still be held (0 or less: free).
   * Resolves to `true` when the lock was released or its lease is over, `false` when `ms` ran out first.
   */
  async wait(id: string, ms: number, signal: AbortSignal | undefined, check: () => Promise<number>): Promise<boolean> {
    let resolve!: () => void;
    const woken = new Promise<void>((done) => {
      resolve = done;
    });
    let waiting = this.#byId.get(id);
    if (waiting === undefined) {
      waiting = new Set();
      this.#byId.set(id, waiting);
    }
    waiting.add(resolve);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const left = await check();
      if (left <= 0) return true;
      if (ms <= 0) return false;
      return await new Promise<boolean>((done, reject) => {
        // At the end of the lease the lock is free; at the end of `ms` it may not be.
        timer = left + 5 <= ms ? setTimeout(done, left + 5, true) : setTimeout(done, ms, false);
        if (signal !== undefined) {
          onAbort = () => reject(signal.reason);
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }
        woken.then(() => done(true));
      });
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
      const set = this.#byId.get(id);
      set?.delete(resolve);
      if (set?.size === 0) this.#byId.delete(id);
    }
  }
}
