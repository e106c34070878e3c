import { createHash } from "node:crypto";
import type { StoreLocks } from "../../single-flight.js";
import { Waiters } from "../../single-flight-waiters.js";
import type { RedisClient, RedisLink } from "./connection.js";
import { LAYOUT_VERSION } from "./keys.js";

/** Deletes the lock (KEYS[1]) if the token (ARGV[1]) still holds it, and tells the waiters (ARGV[2]: channel, ARGV[3]: id). */
const RELEASE_SOURCE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
`;
const RELEASE = {
  name: "release",
  source: RELEASE_SOURCE,
  sha: createHash("sha1").update(RELEASE_SOURCE).digest("hex"),
};

/**
 * Locks in Redis: `SET key token NX PX lease` takes one, a script deletes it only for its own
 * token and publishes the release on one channel per prefix, and waiters listen on that channel
 * (one subscribed connection per cache, opened on the first wait), with a timer at the end of the
 * lease in case the holder died.
 */
export class RedisLocks implements StoreLocks {
  readonly #link: RedisLink;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #waiters = new Waiters();
  #subscriber: Promise<RedisClient> | undefined;

  constructor(link: RedisLink, prefix: string) {
    this.#link = link;
    this.#prefix = `${prefix}:v${LAYOUT_VERSION}:lock:`;
    this.#channel = `${prefix}:v${LAYOUT_VERSION}:released`;
  }

  async acquire(id: string, token: string, lease: number): Promise<boolean> {
    const reply = await this.#link.run((client) => client.set(this.#prefix + id, token, "PX", lease, "NX"));
    return reply === "OK";
  }

  async release(id: string, token: string): Promise<void> {
    await this.#link.script(RELEASE, [this.#prefix + id], [token, this.#channel, id]);
  }

  async waitForRelease(id: string, until: number, signal: AbortSignal | undefined): Promise<boolean> {
    await this.#subscribe();
    return this.#waiters.wait(id, until - Date.now(), signal, async () =>
      Number(await this.#link.run((client) => client.pttl(this.#prefix + id))),
    );
  }

  #subscribe(): Promise<RedisClient> {
    this.#subscriber ??= (async () => {
      const subscriber = this.#link.client.duplicate() as RedisClient;
      subscriber.on("error", () => {});
      subscriber.on("message", (channel: string, id: string) => {
        if (channel === this.#channel) this.#waiters.wake(id);
      });
      if (subscriber.status === "wait") await subscriber.connect();
      await subscriber.subscribe(this.#channel);
      return subscriber;
    })().catch((error: unknown) => {
      this.#subscriber = undefined;
      throw error;
    });
    return this.#subscriber;
  }

  /** Closes the subscribed connection. */
  async close(): Promise<void> {
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber === undefined) return;
    try {
      (await subscriber).disconnect();
    } catch {
      // It never opened.
    }
  }
}
