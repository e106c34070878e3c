import { type Clock, monotonicNow } from "./clock.js";
import type { WaitEvent } from "./events.js";
import type { Timer } from "./timer.js";

/** The request a wait is for, as events show it. */
export interface Waiter {
  readonly method: string;
  /** Redacted. */
  readonly url: string;
  /** `undefined` where the handler cannot tell. */
  readonly attempt: number | undefined;
}

/**
 * The pace of a handler's network requests: no two sent closer together than the wait timer's value,
 * and none before an instant a status handler holds them to. Instants are kept on the clock's
 * monotonic scale, so that a step of the wall clock neither stalls nor hurries requests.
 */
export class Pacer {
  readonly #clock: Clock;
  readonly #waitTimer: Timer | undefined;
  readonly #onWait: ((event: WaitEvent) => void) | undefined;
  /** The earliest monotonic instant the next network request may be sent. */
  #nextSendAt = Number.NEGATIVE_INFINITY;
  /** The monotonic instant status handlers hold requests to. */
  #heldUntil = Number.NEGATIVE_INFINITY;

  constructor(clock: Clock, waitTimer: Timer | undefined, onWait: ((event: WaitEvent) => void) | undefined) {
    this.#clock = clock;
    this.#waitTimer = waitTimer;
    this.#onWait = onWait;
  }

  /** Sends nothing before `instant`, in epoch milliseconds (`clock.now()`'s scale). */
  holdUntil(instant: number): void {
    const at = monotonicNow(this.#clock) + (instant - this.#clock.now());
    if (at > this.#heldUntil) this.#heldUntil = at;
    if (at > this.#nextSendAt) this.#nextSendAt = at;
  }

  /** How long a request that took its turn now would wait, in milliseconds. */
  pending(): number {
    return Math.max(0, this.#nextSendAt - monotonicNow(this.#clock));
  }

  /** Waits for this request's turn in the pace of network requests (cache hits never get here). */
  async pace(signal: AbortSignal | null | undefined, waiter: Waiter): Promise<void> {
    const now = monotonicNow(this.#clock);
    const at = Math.max(now, this.#nextSendAt);
    const spacing = this.#waitTimer?.delay() ?? 0;
    this.#nextSendAt = at + spacing;
    if (at <= now) return;
    if (this.#onWait !== undefined) {
      this.#onWait({ ...waiter, reason: at <= this.#heldUntil ? "hold" : "pace", delay: at - now });
    }
    await this.#clock.sleep(at - now, signal ?? undefined);
  }
}
