import type { AnyRepository } from "../cache/cache.js";
import { redactUrl } from "../credentials.js";
import { CacheError, RequestfulError } from "../errors.js";
import type { Breaker, BreakerState } from "./breaker.js";
import {
  type CacheErrorContext,
  type CacheErrorKind,
  type HitDecision,
  type MissReason,
  type NotStoredReason,
  newCounters,
  type SessionCounters,
  type SessionEvent,
  type SessionStats,
} from "./events.js";
import type { ResolvedOptions } from "./options.js";
import type { BypassReason } from "./policy.js";
import type { Routed } from "./route.js";
import type { Target } from "./target.js";

/**
 * Where a session says what happened: its counters (in total and per repository), its `onEvent`
 * hook, and, for cache errors, `onError`, the logger and the circuit breaker. An event is built
 * only when there is a hook to take it; a hook or a logger that throws never fails a request.
 */
export class Reporter {
  readonly #options: ResolvedOptions;
  readonly #breaker: Breaker | undefined;
  readonly #total = newCounters();
  readonly #byRepository = new Map<string, SessionCounters>();
  readonly #warned = new Set<string>();

  constructor(options: ResolvedOptions, breaker: Breaker | undefined) {
    this.#options = options;
    this.#breaker = breaker;
  }

  /** A snapshot of the counters: in total, and per repository. */
  stats(): SessionStats {
    const repositories = Object.fromEntries(
      Array.from(this.#byRepository, ([name, counters]) => [name, { ...counters }]),
    );
    return { total: { ...this.#total }, repositories, breaker: this.#breaker?.stats() ?? null };
  }

  /** Sets every counter back to zero. */
  reset(): void {
    Object.assign(this.#total, newCounters());
    this.#byRepository.clear();
  }

  requested(): void {
    this.#total.requests++;
  }

  /** The counters of a repository, with its request counted. */
  countersOf(repository: AnyRepository): SessionCounters {
    let counters = this.#byRepository.get(repository.name);
    if (counters === undefined) {
      counters = newCounters();
      this.#byRepository.set(repository.name, counters);
    }
    counters.requests++;
    return counters;
  }

  /** A request sent to the network. */
  network(counters: SessionCounters | undefined): void {
    this.#total.network++;
    if (counters !== undefined) counters.network++;
  }

  hit(routed: Routed, decision: HitDecision, stale: boolean): void {
    this.#total.hits++;
    routed.counters.hits++;
    if (this.#options.onEvent === undefined) return;
    const { target, repository, key } = routed;
    this.#emit({ type: "hit", url: this.show(target), repository: repository.name, key, stale, ...decision });
  }

  /** A request that the cache does not read, and why. */
  bypass(
    target: Target,
    reason: BypassReason,
    repository: AnyRepository | undefined,
    counters: SessionCounters | undefined,
  ): void {
    this.#total.bypassed++;
    if (counters !== undefined) counters.bypassed++;
    if (this.#options.onEvent !== undefined) {
      this.#emit({ type: "bypass", url: this.show(target), repository: repository?.name, reason });
    }
  }

  outcome(type: "miss", routed: Routed, reason: MissReason): void;
  outcome(type: "coalesced", routed: Routed): void;
  outcome(type: "bypass", routed: Routed, reason: BypassReason): void;
  outcome(type: "miss" | "coalesced" | "bypass", routed: Routed, detail?: MissReason | BypassReason): void {
    const total = this.#total;
    const counters = routed.counters;
    switch (type) {
      case "miss":
        total.misses++;
        counters.misses++;
        break;
      case "coalesced":
        total.coalesced++;
        counters.coalesced++;
        break;
      case "bypass":
        total.bypassed++;
        counters.bypassed++;
        break;
      default: {
        const never: never = type;
        throw new TypeError(`unknown outcome ${String(never)}`);
      }
    }
    if (this.#options.onEvent === undefined) return;
    const url = this.show(routed.target);
    const repository = routed.repository.name;
    if (type === "bypass") this.#emit({ type, url, repository, reason: detail as BypassReason });
    else if (type === "miss") {
      const policy = routed.repository.policy;
      this.#emit({ type, url, repository, key: routed.key, policy, reason: detail as MissReason });
    } else this.#emit({ type, url, repository, key: routed.key });
  }

  /** A response stored, of `bytes` bytes. */
  stored(routed: Routed, bytes: number): void {
    this.#total.stores++;
    routed.counters.stores++;
    if (this.#options.onEvent === undefined) return;
    const { target, repository, key } = routed;
    this.#emit({ type: "store", url: this.show(target), repository: repository.name, key, bytes });
  }

  notStored(routed: Routed, reason: NotStoredReason): void {
    if (this.#options.onEvent === undefined) return;
    const { target, repository, key } = routed;
    this.#emit({ type: "not-stored", url: this.show(target), repository: repository.name, key, reason });
  }

  breakerChanged(state: BreakerState): void {
    if (this.#options.onEvent !== undefined) this.#emit({ type: "breaker", state });
  }

  /** Reports a cache error to the counters, `onError`, the events and the logger; throws it in a strict session. */
  failed(
    kind: CacheErrorKind,
    cause: unknown,
    target: Target,
    repository: AnyRepository | undefined,
    counters: SessionCounters | undefined,
  ): void {
    const error = asCacheError(kind, cause, repository);
    if (kind === "connect" || kind === "read" || kind === "write" || kind === "lock") this.#breaker?.failure();
    this.#total.errors++;
    if (counters !== undefined) counters.errors++;
    const context: CacheErrorContext = { kind, url: this.show(target), repository: repository?.name };
    const { onError, strict } = this.#options;
    const throws = strict && kind !== "payload";
    if (onError !== undefined) {
      try {
        onError(error, context);
      } catch (hookError) {
        this.#warnOnce("onError", "requestful: the session's onError hook threw", hookError);
      }
    }
    if (this.#options.onEvent !== undefined) this.#emit({ type: "error", ...context, error });
    this.#log(kind, error, context, throws);
    if (throws) throw error;
  }

  /** A URL as events, errors and stored entries show it: with its credentials redacted. */
  show(target: Target, url: string = target.url.href): string {
    return redactUrl(url, this.#options.credentialNames);
  }

  #log(kind: CacheErrorKind, error: RequestfulError, context: CacheErrorContext, throws: boolean): void {
    const logger = this.#options.logger;
    if (logger === null) return;
    const where = context.repository === undefined ? "" : ` (repository "${context.repository}")`;
    const then = throws ? "the request failed (strict)" : "the request went on without the cache";
    const message = `requestful: cache ${kind} error for ${context.url}${where}: ${error.message}; ${then}`;
    if (logger === undefined) {
      this.#warnOnce(
        kind,
        `${message}. Later ${kind} errors of this session are counted, not logged; see onError.`,
        error,
      );
    } else {
      try {
        logger.warn(message, error);
      } catch {
        // A logger that throws must not turn a cache error into a failed request.
      }
    }
  }

  #warnOnce(topic: string, message: string, error: unknown): void {
    if (this.#warned.has(topic)) return;
    this.#warned.add(topic);
    console.warn(message, error);
  }

  #emit(event: SessionEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch (error) {
      this.#warnOnce("onEvent", "requestful: the session's onEvent hook threw", error);
    }
  }
}

function asCacheError(kind: CacheErrorKind, error: unknown, repository: AnyRepository | undefined): RequestfulError {
  if (error instanceof RequestfulError) return error;
  const where = repository === undefined ? "" : ` of repository "${repository.name}"`;
  const message = error instanceof Error ? error.message : String(error);
  return new CacheError(`cache ${kind}${where} failed: ${message}`, { cause: error });
}
