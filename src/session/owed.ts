import type { Recording } from "./recording.js";

/** How long `close()` lets background revalidations run before it aborts them, in milliseconds. */
export const BACKGROUND_GRACE = 5_000;

/**
 * What a session still owes its store, which `close()` settles before the cache closes: entries
 * being stored from recorded bodies, background revalidations, locks to release.
 *
 * Settling is bounded. A caller's body that has not ended stops being recorded (not stored; the
 * caller reads it on), so that a body no one reads never holds it; a body that has ended is awaited
 * until its entry is written. Background revalidations are awaited for {@link BACKGROUND_GRACE}
 * at most, then aborted (and what they had not stored yet is not stored).
 */
export class Owed {
  readonly #work = new Set<Promise<unknown>>();
  readonly #recordings = new Set<Recording>();
  readonly #grace: number;
  #controller: AbortController | undefined;
  #closing = false;

  constructor(grace = BACKGROUND_GRACE) {
    this.#grace = grace;
  }

  /** The signal of the session's background requests: aborted when settling runs out of time. */
  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  /** Whether an error is the abort of a background request by {@link settle}. */
  aborted(error: unknown): boolean {
    const signal = this.#controller?.signal;
    return signal?.aborted === true && error === signal.reason;
  }

  /** Work to wait for (its failure is its own affair); settles with it. */
  track(work: Promise<unknown>): Promise<unknown> {
    const tracked = work.catch(() => undefined);
    this.#work.add(tracked);
    return tracked.finally(() => this.#work.delete(tracked));
  }

  /**
   * A body being recorded, and the promise that settles once its entry is stored (or not). A
   * caller's body is abandoned by {@link settle} if it has not ended; the body of a background
   * revalidation, which the session reads itself, is awaited like the revalidation.
   */
  record(recording: Recording | undefined, stored: Promise<unknown>, caller: boolean): void {
    const tracked = this.track(stored);
    if (recording === undefined || !caller) return;
    if (this.#closing) {
      void recording.abandon();
      return;
    }
    this.#recordings.add(recording);
    void tracked.then(() => this.#recordings.delete(recording));
  }

  /** Abandons the caller's bodies still arriving, and waits for the rest (background work for a while). */
  async settle(): Promise<void> {
    this.#closing = true;
    for (const recording of this.#recordings) void recording.abandon();
    if (this.#work.size === 0) return;
    const timer = setTimeout(() => this.#abort(), this.#grace);
    try {
      while (this.#work.size > 0) await Promise.all(this.#work);
    } finally {
      clearTimeout(timer);
    }
  }

  #abort(): void {
    this.#controller?.abort(new DOMException("the session closed", "AbortError"));
  }
}
