import type { StoredPayload } from "../../../payload/handler.js";
import type { Key } from "../../../types.js";
import type { Bounds } from "../../bounds.js";
import type { CacheEntry } from "../../entry.js";
import { keyId } from "../../key.js";
import { type RepositoryOptions, ResponseRepository } from "../../repository.js";
import type { ResponseRepositorySettings } from "../../settings.js";
import { BOUNDED_CLEAR, BOUNDED_REMOVE, RedisBounds } from "./bounds.js";
import { decodeEntry, decodePayload, encodeEntry, isLive } from "./codec.js";
import type { RedisArgument, RedisLink } from "./connection.js";
import { checkName, KeyLayout } from "./keys.js";
import { CLEAR, COUNT, REMOVE, WRITE } from "./scripts.js";

/** How many keys one MGET reads. */
const READ_CHUNK = 1_000;
/** How many entries one step of `clear` lists and removes. */
const CLEAR_CHUNK = 1_000;
/** How many index members one step of an iteration asks for. */
const SCAN_BATCH = 256;

/** Where a Redis repository lives, and how long Redis keeps an entry after it expires. */
export interface RedisRepositoryPlace {
  /** The key prefix of the cache. */
  prefix: string;
  /** How long Redis keeps an entry after it expires, in milliseconds. */
  keepExpired: number;
  /** The bounds of the repository, when it has any. */
  bounds?: Bounds | undefined;
}

/**
 * A repository stored in Redis: one string key per entry, with Redis's own expiry, and a sorted set
 * that indexes the entries by `expiresAt`, so that counting, clearing and iterating never scan the
 * server. All the keys of a repository share one cluster hash slot. Made by
 * `RedisCache.createRepository`.
 */
export class RedisRepository<K extends Key = Key, V = unknown> extends ResponseRepository<K, V> {
  readonly backend = "redis";
  /** The keys this repository uses in Redis. */
  readonly keys: KeyLayout;
  /** How long Redis keeps an entry after it expires, in milliseconds. */
  readonly keepExpired: number;
  readonly #link: RedisLink;
  /** The repository's bounds, when it has any. */
  readonly limits: RedisBounds | undefined;

  constructor(
    link: RedisLink,
    place: RedisRepositoryPlace,
    settings: ResponseRepositorySettings<V>,
    options: RepositoryOptions = {},
  ) {
    super(settings, options);
    checkName(settings.name);
    this.#link = link;
    this.keys = new KeyLayout(place.prefix, settings.name);
    this.keepExpired = place.keepExpired;
    this.limits = place.bounds?.bounded ? new RedisBounds(place.bounds, link, this.keys) : undefined;
  }

  protected override async tearDown(): Promise<void> {
    this.limits?.close();
  }

  protected async setUp(): Promise<void> {
    // Nothing to create: keys appear when entries are written. Fails if the cache is not open.
    void this.#link.client;
  }

  protected override async readPayload(key: K, now: number): Promise<StoredPayload | undefined> {
    const id = keyId(key);
    const value = await this.#link.run((client) => client.getBuffer(this.keys.entry(id)));
    if (value === null) return undefined;
    this.limits?.touch(id);
    return decodePayload(value, now);
  }

  protected override async readEntry(key: K, now: number | undefined): Promise<CacheEntry<K> | undefined> {
    const id = keyId(key);
    const value = await this.#link.run((client) => client.getBuffer(this.keys.entry(id)));
    if (value === null) return undefined;
    this.limits?.touch(id);
    return decodeEntry(key, value, now ?? Number.NEGATIVE_INFINITY);
  }

  protected override async hasEntry(key: K, now: number): Promise<boolean> {
    const value = await this.#link.run((client) => client.getBuffer(this.keys.entry(keyId(key))));
    return value !== null && isLive(value, now);
  }

  protected async readEntries(keys: readonly K[], now: number | undefined): Promise<CacheEntry<K>[]> {
    const at = now ?? Number.NEGATIVE_INFINITY;
    const values = await this.#readValues(keys.map((key) => this.keys.entry(keyId(key))));
    const found: CacheEntry<K>[] = [];
    for (let i = 0; i < keys.length; i++) {
      const value = values[i];
      if (value === null || value === undefined) continue;
      const entry = decodeEntry(keys[i] as K, value, at);
      if (entry !== undefined) found.push(entry);
    }
    if (this.limits !== undefined) for (const entry of found) this.limits.touch(keyId(entry.key));
    return found;
  }

  /** The values at these keys (null where missing), in one MGET or one pipeline of them. */
  #readValues(redisKeys: readonly string[]): Promise<(Buffer | null)[]> {
    if (redisKeys.length <= READ_CHUNK) {
      return this.#link.run((client) => client.mgetBuffer(redisKeys as string[]));
    }
    return this.#link.run(async (client) => {
      const pipeline = client.pipeline();
      for (let start = 0; start < redisKeys.length; start += READ_CHUNK) {
        pipeline.mgetBuffer(redisKeys.slice(start, start + READ_CHUNK));
      }
      const replies = (await pipeline.exec()) ?? [];
      const values: (Buffer | null)[] = [];
      for (const [error, reply] of replies) {
        if (error) throw error;
        values.push(...(reply as (Buffer | null)[]));
      }
      return values;
    });
  }

  protected async writeEntries(entries: readonly CacheEntry<K>[]): Promise<void> {
    const redisKeys: string[] = [this.keys.index, this.keys.gone];
    const args: RedisArgument[] = [];
    const limits = this.limits;
    let longest = 0;
    for (const entry of entries) {
      const id = keyId(entry.key);
      const value = encodeEntry(entry);
      // An entry larger than the whole bound is not stored, and evicts nothing.
      if (limits !== undefined && !limits.accepts(value.byteLength + Buffer.byteLength(id))) continue;
      const ttl = this.#ttl(entry);
      if (ttl > longest) longest = ttl;
      redisKeys.push(this.keys.entry(id));
      args.push(id, ttl, entry.expiresAt, value);
    }
    if (limits === undefined) await this.#link.script(WRITE, redisKeys, args);
    else if (redisKeys.length > 2) await limits.write(redisKeys, args, longest);
  }

  /**
   * How long Redis keeps the entry: its own lifetime plus `keepExpired`. It is a duration, never an
   * instant, so that an entry stamped by a clock other than the server's still lives as long.
   */
  #ttl(entry: CacheEntry<K>): number {
    return Math.max(1, Math.ceil(entry.expiresAt - entry.cachedAt)) + this.keepExpired;
  }

  protected async removeEntries(keys: readonly K[]): Promise<number> {
    const ids = keys.map(keyId);
    const removed = await this.#link.script(
      this.limits === undefined ? REMOVE : BOUNDED_REMOVE,
      [this.keys.index, this.keys.gone, ...ids.map((id) => this.keys.entry(id))],
      ids,
    );
    return Number(removed);
  }

  protected async countEntries(now: number | undefined): Promise<number> {
    await this.limits?.repairAll();
    const count = await this.#link.script(COUNT, [this.keys.index, this.keys.gone], [now === undefined ? "" : now]);
    return Number(count);
  }

  protected async clearEntries(now: number | undefined): Promise<number> {
    let removed = 0;
    for (;;) {
      const ids = await this.#link.run((client) =>
        now === undefined
          ? client.zrange(this.keys.index, 0, CLEAR_CHUNK - 1)
          : client.zrangebyscore(this.keys.index, "-inf", now, "LIMIT", 0, CLEAR_CHUNK),
      );
      if (ids.length === 0) return removed;
      const count = await this.#link.script(
        this.limits === undefined ? CLEAR : BOUNDED_CLEAR,
        [this.keys.index, this.keys.gone, ...ids.map((id) => this.keys.entry(id))],
        [now === undefined ? "" : now, ...ids],
      );
      removed += Number(count);
      if (ids.length < CLEAR_CHUNK) return removed;
    }
  }

  protected async *scanEntries(now: number): AsyncGenerator<CacheEntry<K>> {
    // ZSCAN returns every member present for the whole scan at least once, whatever its score does
    // meanwhile; the set of ids seen drops the repeats it may return.
    const seen = new Set<string>();
    let cursor = "0";
    do {
      const [next, flat] = await this.#link.run((client) => client.zscan(this.keys.index, cursor, "COUNT", SCAN_BATCH));
      cursor = next;
      const ids: string[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const id = flat[i] as string;
        if (now < Number(flat[i + 1]) && !seen.has(id)) {
          seen.add(id);
          ids.push(id);
        }
      }
      if (ids.length === 0) continue;
      const values = await this.#readValues(ids.map((id) => this.keys.entry(id)));
      const batch: CacheEntry<K>[] = [];
      for (let i = 0; i < ids.length; i++) {
        const value = values[i];
        if (value === null || value === undefined) continue;
        const entry = decodeEntry(JSON.parse(ids[i] as string) as K, value, now);
        if (entry !== undefined) batch.push(entry);
      }
      yield* batch;
    } while (cursor !== "0");
  }
}
