import { CacheError, CacheTimeoutError } from "../../../errors.js";
import type { RedisArgument, RedisClient } from "./client.js";
import type { Script } from "./scripts.js";

export type { RedisArgument, RedisClient } from "./client.js";

/**
 * The connection that a Redis cache shares with its repositories: the client once it is open, and
 * the deadline that bounds every round trip to the server.
 */
export class RedisLink {
  /** The deadline of one round trip to the server, in milliseconds. */
  readonly timeout: number;
  /** Where the server is, for messages (no password). */
  readonly label: string;
  #client: RedisClient | undefined;
  #lastError: Error | undefined;

  constructor(timeout: number, label: string) {
    this.timeout = timeout;
    this.label = label;
  }

  /** The open client. */
  get client(): RedisClient {
    if (this.#client === undefined) throw new CacheError(`the Redis cache at ${this.label} is not connected`);
    return this.#client;
  }

  get open(): boolean {
    return this.#client !== undefined;
  }

  attach(client: RedisClient): void {
    this.#client = client;
  }

  detach(): void {
    this.#client = undefined;
  }

  /** Remembers the client's last connection error, to explain later failures. */
  noteError(error: Error): void {
    this.#lastError = error;
  }

  /**
   * Runs one round trip to the server. It fails at once with a `CacheError` while the client is
   * not connected (it reconnects in the background), and with a `CacheTimeoutError` when the server
   * has not answered within the deadline.
   */
  run<T>(work: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (client.status !== "ready") return Promise.reject(this.#notConnected(client.status));
    const answer = work(client).catch((error: unknown) => {
      // ioredis's own command timeout (set to the same deadline) may fire first: same meaning.
      if (error instanceof Error && error.message === "Command timed out") throw this.#late();
      if (isConnectionError(error) || client.status !== "ready") throw this.#notConnected(client.status, error);
      throw error;
    });
    return withDeadline(answer, this.timeout, () => this.#late());
  }

  /** Runs a Lua script, sending its source only when the server does not have it yet. */
  script(script: Script, keys: readonly string[], args: readonly RedisArgument[]): Promise<unknown> {
    const rest: RedisArgument[] = [keys.length, ...keys, ...args];
    return this.run(async (client) => {
      try {
        return await client.call("EVALSHA", [script.sha, ...rest]);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
        return client.call("EVAL", [script.source, ...rest]);
      }
    });
  }

  #notConnected(status: string, cause?: unknown): CacheError {
    const state = status === "ready" ? "the connection was lost during the call" : `the client is ${status}`;
    const why = this.#lastError === undefined ? "" : ` (last error: ${this.#lastError.message})`;
    return new CacheError(
      `Redis at ${this.label} is not connected: ${state}${why}`,
      cause === undefined ? undefined : { cause },
    );
  }

  #late(): CacheTimeoutError {
    return new CacheTimeoutError(
      `Redis at ${this.label} did not answer within ${this.timeout} ms (the timeout option)`,
      {
        timeout: this.timeout,
      },
    );
  }
}

/** Errors of ioredis that mean the connection went away while a call was under way. */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === "MaxRetriesPerRequestError" ||
    error.message === "Connection is closed." ||
    error.message.startsWith("Stream isn't writeable")
  );
}

/** Settles like `promise`, or rejects with `onLate()` when it has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, onLate: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onLate()), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
