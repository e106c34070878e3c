import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { type CacheEntry, PostgresCache, RedisCache, type ResponseCache, SQLiteCache } from "../../src/index.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, sql, testSchema } from "../helpers/postgres.js";
import { pingRedis, REDIS_URL, removePrefix, uniquePrefix } from "../helpers/redis.js";
import { tempFolder } from "../helpers/temp.js";
import { childEnv, cli, fill, ndjson, shellCommand } from "./cli.js";

const folder = tempFolder("requestful-cli-servers-");
const schemas: string[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  folder.remove();
  for (const schema of schemas) await dropSchema(schema);
  for (const prefix of prefixes) await removePrefix(prefix);
});

const noPostgres = await postgresUnavailable();
const noRedis = await pingRedis();

/** Every entry of every recorded repository, in a stable order. */
async function everything(cache: ResponseCache): Promise<[string, CacheEntry][]> {
  const all: [string, CacheEntry][] = [];
  for (const repository of await cache.openRecordedRepositories()) {
    for await (const entry of repository.list()) all.push([repository.name, entry]);
  }
  return all.sort(([a, x], [b, y]) => `${a}${JSON.stringify(x.key)}`.localeCompare(`${b}${JSON.stringify(y.key)}`));
}

describe.skipIf(noPostgres !== undefined)("requestful on PostgreSQL", { timeout: 180_000 }, () => {
  it("moves a cache from SQLite to PostgreSQL through a pipe with every byte and instant equal", async () => {
    const file = join(folder.path, "source.sqlite");
    const source = SQLiteCache.connect(file);
    await fill(source);
    const schema = testSchema("cli");
    schemas.push(schema);
    const target = `${POSTGRES_URL}?schema=${schema}`;

    const { stderr } = await promisify(execFile)(
      "sh",
      ["-c", `${shellCommand(["export", file])} | ${shellCommand(["import", target])}`],
      { env: childEnv() },
    );
    expect(stderr).toBe("exported 7 entries\n");

    const copy = PostgresCache.connect(POSTGRES_URL, { schema });
    try {
      const before = await everything(source);
      const after = await everything(copy);
      expect(after).toHaveLength(7);
      expect(after).toEqual(before); // keys, names, instants (0.5 ms too), status, headers, URLs, payload bytes
      const image = after.find(([name]) => name === "images")?.[1];
      expect(image?.payload).toEqual(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255, 128, 7]));
      const records = await copy.repositoryRecords();
      expect(records.map((r) => [r.name, r.payload, r.expire])).toEqual([
        ["images", "bytes", { weeks: 1 }],
        ["notes", "string", { weeks: 1 }],
        ["tracks", "json", { days: 1 }],
      ]);
    } finally {
      await copy.close();
      await source.close();
    }

    const stats = JSON.parse((await cli(["stats", "--json", "--cache", target])).stdout);
    expect(stats.backend).toBe("postgres");
    expect(stats.store.measured).toBe("tables");
    expect(stats.repositories.find((r: { name: string }) => r.name === "tracks")).toMatchObject({
      entries: 5,
      live: 3,
      expired: 2,
    });
    expect(ndjson((await cli(["ls", "--json", "--expired", "--cache", target])).stdout)).toHaveLength(2);

    await sql(`UPDATE "${schema}"."tracks" SET "payload" = '{"id":' WHERE "key_json" = '["GET","3"]'`);
    const found = await cli(["verify", "--cache", target]);
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/tracks\s+\["GET","3"\]/);
    const fixed = await cli(["verify", "--fix", "--json", "--cache", target]);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ broken: 1, removed: 1, store: [] });
    expect((await cli(["verify", "--cache", target])).code).toBe(0);

    const purged = await cli(["purge", "--expired", "--json", "--cache", target]);
    expect(JSON.parse(purged.stdout)).toMatchObject({ removed: 2 });
    const compacted = JSON.parse((await cli(["compact", "--json", "--cache", target])).stdout);
    expect(compacted.after.measured).toBe("tables");
  });
});

describe.skipIf(noRedis !== undefined)("requestful on Redis", { timeout: 180_000 }, () => {
  it("lists, verifies (the index against the entries), purges and compacts", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const cache = RedisCache.connect(REDIS_URL, { prefix });
    await fill(cache);
    await cache.close();
    const store = `${REDIS_URL}/0?prefix=${encodeURIComponent(prefix)}`;

    const stats = JSON.parse((await cli(["stats", "--json", "--cache", store])).stdout);
    expect(stats.backend).toBe("redis");
    expect(stats.repositories.map((r: { name: string; entries: number }) => [r.name, r.entries])).toEqual([
      ["images", 1],
      ["notes", 1],
      ["tracks", 5],
    ]);
    const table = await cli(["ls", "--cache", store, "--match", "*/tracks/*"]);
    expect(table.stdout.trimEnd().split("\n")).toHaveLength(6);
    expect(table.stdout).not.toContain("s3cret");
    expect((await cli(["verify", "--cache", store])).code).toBe(0);

    // An entry written behind the index's back.
    const client = new Redis(REDIS_URL);
    const entryKey = (await client.keys(`${prefix}:*:e:*`))[0] as string;
    await client.set(`${entryKey.slice(0, entryKey.indexOf(":e:") + 3)}["GET","stray"]`, "x");
    client.disconnect();
    const found = await cli(["verify", "--json", "--cache", store]);
    expect(found.code).toBe(1);
    expect(JSON.parse(found.stdout).store).toEqual([expect.stringMatching(/1 entries are not in the index/)]);

    const purged = await cli(["purge", "--expired", "--cache", store, "--json"]);
    expect(JSON.parse(purged.stdout)).toMatchObject({ removed: 2 });
    const compacted = JSON.parse((await cli(["compact", "--json", "--cache", store])).stdout);
    expect(compacted.before.measured).toBe("server memory");
  });
});
