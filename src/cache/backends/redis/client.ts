/**
 * The members of an ioredis client that the Redis backend uses and shows, as plain structural
 * types, so that the published types compile without ioredis installed. An ioredis `Redis` or
 * `Cluster` is a `RedisClient`; cast the other way (`cache.client as Redis`) to reach the rest of
 * its API.
 */

/** A value sent to Redis. */
export type RedisArgument = string | Buffer | number;

/** The replies of a pipeline: one `[error, reply]` pair per command, in order. */
export type RedisPipelineReplies = [error: Error | null, reply: unknown][];

/** A pipeline of commands sent in one round trip (an ioredis `Pipeline`). */
export interface RedisPipeline {
  /** Queues an MGET that answers bytes. */
  mgetBuffer(keys: string[]): unknown;
  /** Queues an EXISTS. */
  exists(key: string): unknown;
  /** Sends the queued commands. */
  exec(): Promise<RedisPipelineReplies | null>;
}

/**
 * A Redis client: an ioredis `Redis` (one server) or `Cluster`, described by the members that
 * requestful uses. Any ioredis client can be given where one is asked for.
 *
 * @example
 * import { Redis } from "ioredis";
 * const client: RedisClient = new Redis("redis://127.0.0.1:6379");
 */
export interface RedisClient {
  /** The state of the connection: `"wait"`, `"connecting"`, `"ready"`, `"end"`... */
  readonly status: string;
  /** Connects a client made with `lazyConnect`. */
  connect(): Promise<void>;
  /** Sends QUIT: the server answers the calls already sent, then closes the connection. */
  quit(): Promise<unknown>;
  /** Drops the connection at once. */
  disconnect(reconnect?: boolean): void;
  /** Adds a listener for an event of the client (`"error"`, `"ready"`, `"end"`...). */
  // biome-ignore lint/suspicious/noExplicitAny: listeners of EventEmitter events take any arguments.
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** Adds a listener called once. */
  // biome-ignore lint/suspicious/noExplicitAny: listeners of EventEmitter events take any arguments.
  once(event: string, listener: (...args: any[]) => void): unknown;
  /** Removes a listener. */
  // biome-ignore lint/suspicious/noExplicitAny: listeners of EventEmitter events take any arguments.
  off(event: string, listener: (...args: any[]) => void): unknown;
  /** Sends any command. */
  call(command: string, args: RedisArgument[]): Promise<unknown>;
  /** GET, answered as bytes. */
  getBuffer(key: string): Promise<Buffer | null>;
  /** MGET, answered as bytes. */
  mgetBuffer(keys: string[]): Promise<(Buffer | null)[]>;
  /** Starts a pipeline. */
  pipeline(): RedisPipeline;
  /** ZRANGE by rank. */
  zrange(key: string, start: number, stop: number): Promise<string[]>;
  /** ZRANGEBYSCORE with a LIMIT. */
  zrangebyscore(
    key: string,
    min: number | string,
    max: number | string,
    limit: "LIMIT",
    offset: number,
    count: number,
  ): Promise<string[]>;
  /** SET with an expiry in milliseconds, only where the key does not exist (a lock). */
  set(key: string, value: string, px: "PX", milliseconds: number, nx: "NX"): Promise<"OK" | null>;
  /** PTTL. */
  pttl(key: string): Promise<number>;
  /** A new client with the same options (for a subscribed connection). */
  duplicate(): RedisClient;
  /** SUBSCRIBE. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** HSETNX: sets a hash field only where there is none. */
  hsetnx(key: string, field: string, value: string): Promise<number>;
  /** HGET. */
  hget(key: string, field: string): Promise<string | null>;
  /** HSET of one field. */
  hset(key: string, field: string, value: string): Promise<number>;
  /** HGETALL. */
  hgetall(key: string): Promise<Record<string, string>>;
  /** INFO of one section. */
  info(section: string): Promise<string>;
  /** ZMSCORE. */
  zmscore(key: string, ...members: string[]): Promise<(string | null)[]>;
  /** ZSCAN with a COUNT. */
  zscan(key: string, cursor: string, countToken: "COUNT", count: number): Promise<[cursor: string, elements: string[]]>;
}

/**
 * Options of the ioredis client that a Redis cache makes from its URL: any ioredis `RedisOptions`
 * (TLS, user names, a connection name...). They are passed to ioredis as given.
 */
export type RedisClientOptions = object;
