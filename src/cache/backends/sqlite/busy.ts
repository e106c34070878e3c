import { setTimeout as sleep } from "node:timers/promises";

/**
 * How long a call keeps trying while other connections hold the database locked, on top of
 * SQLite's own busy timeout. Past it, the lock error reaches the caller.
 */
export const BUSY_DEADLINE_MS = 60_000;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * Runs a synchronous database call, and runs it again after a short pause while it fails because
 * another connection holds a lock. The first try is synchronous, so a free database costs nothing.
 */
export async function retryBusy<T>(work: () => T, deadline = BUSY_DEADLINE_MS): Promise<T> {
  try {
    return work();
  } catch (error) {
    if (!isBusy(error)) throw error;
  }
  const giveUpAt = Date.now() + deadline;
  for (let attempt = 1; ; attempt++) {
    await sleep(Math.min(5 * attempt, 100) * (0.5 + Math.random()));
    try {
      return work();
    } catch (error) {
      if (!isBusy(error) || Date.now() > giveUpAt) throw error;
    }
  }
}

/**
 * A statement's first row (`get`), read at once, with no promise or closure on the way; only
 * while another connection holds a lock does it become a promise that tries again after pauses,
 * as {@link retryBusy} does.
 */
export function getNow(statement: { get(...params: unknown[]): unknown }, params: unknown[]): unknown {
  try {
    return statement.get(...params);
  } catch (error) {
    if (!isBusy(error)) throw error;
  }
  return retryBusy(() => statement.get(...params));
}
