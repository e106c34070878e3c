import type { Breaker } from "./breaker.js";
import type { ResolvedOptions } from "./options.js";
import type { Owed } from "./owed.js";
import type { Reporter } from "./reporter.js";

/**
 * What the parts of a session share, made once with the session: its options, where it reports
 * what happens, the circuit breaker of its cache, and the work it owes its store.
 */
export interface SessionContext {
  readonly options: ResolvedOptions;
  readonly report: Reporter;
  readonly breaker: Breaker | undefined;
  readonly owed: Owed;
}
