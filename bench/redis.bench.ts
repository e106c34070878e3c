/**
 * Redis repository speed beside the raw floor measured in the same run on the same server: ioredis's
 * own pipelined SET … PX / GET (and MSET / MGET, stricter still: no expiry, one command) of the same
 * 10,000 JSON payloads of 1 KB, with the JSON.stringify / JSON.parse that any cache of JSON values
 * does, and a single GET for a hit.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { type JSONValue, type Key, RedisCache } from "../src/index.js";
import { pingRedis, REDIS_URL, removePrefix } from "../test/helpers/redis.js";
import { jsonPayload, keyOnlySettings, type Measurement, measure, measureBatch, report } from "./util.js";

const TARGET = 1.5;
const COUNT = 10_000;
const WEEK = 7 * 86_400_000;

export async function run(): Promise<void> {
  const unavailable = await pingRedis();
  if (unavailable !== undefined) {
    console.log(`\nRedis: skipped, no server at ${REDIS_URL} (${unavailable})`);
    return;
  }
  const prefix = `requestful-bench:${randomUUID()}`;
  const cache = RedisCache.connect(REDIS_URL, { prefix, timeout: 10_000 });
  const repo = cache.createRepository(keyOnlySettings());
  await cache.connect();
  const raw = new Redis(REDIS_URL);
  try {
    const batch: [Key, JSONValue][] = Array.from({ length: COUNT }, (_, i) => [
      ["GET", `track-${i}`],
      jsonPayload(1024, i) as JSONValue,
    ]);
    const keys = batch.map(([key]) => key);
    const rawKeys = keys.map((key) => `${prefix}:raw:${String(key[1])}`);
    const values = batch.map(([, value]) => value);

    const pipelinedSet = async () => {
      const pipeline = raw.pipeline();
      for (let i = 0; i < COUNT; i++) pipeline.set(rawKeys[i] as string, JSON.stringify(values[i]), "PX", WEEK);
      await pipeline.exec();
    };
    const mset = async () => {
      const pairs: string[] = [];
      for (let i = 0; i < COUNT; i++) pairs.push(rawKeys[i] as string, JSON.stringify(values[i]));
      await raw.mset(pairs);
    };
    const pipelinedGet = async () => {
      const pipeline = raw.pipeline();
      for (const key of rawKeys) pipeline.get(key);
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([, text]) => JSON.parse(text as string));
    };
    const mget = async () => (await raw.mget(rawKeys)).map((text) => JSON.parse(text as string));

    const rows: { subject: Measurement; floor: Measurement; target?: number }[] = [];
    const save = () => repo.saveResponses(batch);
    const [setFloor, saved] = await alternate(
      () => measureBatch(`ioredis pipelined SET PX ${COUNT} (per entry)`, COUNT, pipelinedSet),
      () => measureBatch(`saveResponses ${COUNT} (per entry)`, COUNT, save),
    );
    const [msetFloor] = await alternate(() => measureBatch(`ioredis MSET ${COUNT} (per entry)`, COUNT, mset));
    rows.push({ floor: setFloor, subject: saved, target: TARGET }, { floor: msetFloor, subject: saved });

    const read = () => repo.getResponses(keys);
    const [getFloor, got] = await alternate(
      () => measureBatch(`ioredis pipelined GET ${COUNT} (per entry)`, COUNT, pipelinedGet),
      () => measureBatch(`getResponses ${COUNT} (per entry)`, COUNT, read),
    );
    const [mgetFloor] = await alternate(() => measureBatch(`ioredis MGET ${COUNT} (per entry)`, COUNT, mget));
    rows.push({ floor: getFloor, subject: got, target: TARGET }, { floor: mgetFloor, subject: got });

    let i = 0;
    const next = () => i++ % COUNT;
    const [hitFloor, hit] = await alternate(
      () =>
        measure("ioredis GET + JSON.parse, hit", async () =>
          JSON.parse((await raw.get(rawKeys[next()] as string)) as string),
        ),
      () => measure("getResponse hit", () => repo.getResponse(keys[next()] as Key)),
    );
    rows.push({ floor: hitFloor, subject: hit });

    report(`Redis at ${REDIS_URL}: ${COUNT} JSON entries of 1 KB, ioredis ${await version()}`, rows);
    const check = (await repo.getResponses(keys)).length;
    if (check !== COUNT) throw new Error(`read back ${check} of ${COUNT} entries`);
  } finally {
    await cache.close();
    raw.disconnect();
    await removePrefix(prefix);
  }
}

/**
 * Runs each measurement three times, taking turns, and keeps the fastest of each: on a shared
 * machine, the load of the moment then weighs on the floor and the subject alike.
 */
async function alternate<T extends (() => Promise<Measurement>)[]>(
  ...runs: T
): Promise<{ [I in keyof T]: Measurement }> {
  const best: (Measurement | undefined)[] = runs.map(() => undefined);
  for (let turn = 0; turn < 3; turn++) {
    for (const [index, measureOnce] of runs.entries()) {
      const result = await measureOnce();
      const current = best[index];
      if (current === undefined || result.usPerOp < current.usPerOp) best[index] = result;
    }
  }
  return best as { [I in keyof T]: Measurement };
}

async function version(): Promise<string> {
  const { createRequire } = await import("node:module");
  return (createRequire(import.meta.url)("ioredis/package.json") as { version: string }).version;
}
