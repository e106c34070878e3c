import { describeValue } from "../describe.js";

/** Options of a session's circuit breaker. */
export interface BreakerOptions {
  /**
   * How many cache failures in a row (reads, writes, connections) open the circuit.
   * @default 5
   * @example { threshold: 3 }
   */
  threshold?: number;
  /**
   * How long, in milliseconds, the cache is skipped once the circuit is open, before one request
   * probes it again.
   * @default 30_000
   * @example { coolDown: 5_000 }
   */
  coolDown?: number;
}

/** The state of a circuit breaker: `closed` (the cache is used), `open` (skipped), `half-open` (one probe). */
export type BreakerState = "closed" | "open" | "half-open";

/** What `stats()` shows of the breaker. */
export interface BreakerStats {
  readonly state: BreakerState;
  /** Cache failures in a row. */
  readonly failures: number;
  /** How many times the circuit opened. */
  readonly opened: number;
  /** When it last opened, in epoch milliseconds, or `null`. */
  readonly openedAt: number | null;
}

export const DEFAULT_BREAKER = Object.freeze({ threshold: 5, coolDown: 30_000 });

/**
 * A circuit breaker over the cache: after `threshold` failures in a row the cache is skipped for
 * `coolDown` (requests go straight to the network, without waiting for a backend that is down);
 * then one request at a time probes it, and a success closes the circuit again. Time comes from a
 * monotonic clock, so a wall-clock step neither opens nor closes it.
 */
export class Breaker {
  readonly threshold: number;
  readonly coolDown: number;
  #state: BreakerState = "closed";
  #failures = 0;
  #opened = 0;
  #openedAt = 0;
  #openedAtWall: number | null = null;
  #probing = false;
  readonly #clock: () => number;
  readonly #onChange: (state: BreakerState) => void;

  constructor(options: BreakerOptions, onChange: (state: BreakerState) => void, clock = () => performance.now()) {
    this.threshold = options.threshold ?? DEFAULT_BREAKER.threshold;
    this.coolDown = options.coolDown ?? DEFAULT_BREAKER.coolDown;
    this.#clock = clock;
    this.#onChange = onChange;
  }

  /** Whether a request may use the cache now; in `half-open`, only the one probe may. */
  allow(): boolean {
    switch (this.#state) {
      case "closed":
        return true;
      case "open":
        if (this.#clock() - this.#openedAt < this.coolDown) return false;
        this.#move("half-open");
        this.#probing = true;
        return true;
      case "half-open":
        if (this.#probing) return false;
        this.#probing = true;
        return true;
      default: {
        const never: never = this.#state;
        throw new TypeError(`unknown breaker state ${String(never)}`);
      }
    }
  }

  /** Whether the cache is skipped now, without taking the probe's turn. */
  blocked(): boolean {
    if (this.#state === "closed") return false;
    if (this.#state === "half-open") return this.#probing;
    return this.#clock() - this.#openedAt < this.coolDown;
  }

  /** The cache answered: the circuit closes. */
  success(): void {
    this.#failures = 0;
    this.#probing = false;
    if (this.#state !== "closed") this.#move("closed");
  }

  /** The cache failed: the circuit opens after `threshold` failures in a row, or at once after a failed probe. */
  failure(): void {
    this.#failures++;
    this.#probing = false;
    if (this.#state === "half-open" || (this.#state === "closed" && this.#failures >= this.threshold)) {
      this.#opened++;
      this.#openedAt = this.#clock();
      this.#openedAtWall = Date.now();
      this.#move("open");
    }
  }

  /** A request that was let through ended without using the cache: another may probe. */
  release(): void {
    this.#probing = false;
  }

  stats(): BreakerStats {
    return { state: this.#state, failures: this.#failures, opened: this.#opened, openedAt: this.#openedAtWall };
  }

  #move(state: BreakerState): void {
    this.#state = state;
    this.#onChange(state);
  }
}

/** Checks the `breaker` option: options, or `false` for none. */
export function checkBreaker(value: unknown): BreakerOptions | false {
  if (value === false) return false;
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`breaker must be { threshold?, coolDown? } or false, got ${describeValue(value)}`);
  }
  const { threshold, coolDown } = value as BreakerOptions;
  if (threshold !== undefined && (!Number.isSafeInteger(threshold) || threshold < 1)) {
    throw new RangeError(
      `breaker.threshold must be a whole number of failures, 1 or more, got ${describeValue(threshold)}`,
    );
  }
  if (coolDown !== undefined && (typeof coolDown !== "number" || !Number.isFinite(coolDown) || coolDown < 0)) {
    throw new RangeError(`breaker.coolDown must be milliseconds, 0 or more, got ${describeValue(coolDown)}`);
  }
  return value as BreakerOptions;
}
