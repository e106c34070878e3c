/**
 * Credentials never reach a server store: after credentialed requests through a session on Redis
 * and on PostgreSQL, no key, value or row holds a token, an API key or a cookie — only the keyed
 * partition digest that tells callers apart.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse, CachedSession, PostgresCache, RedisCache, type ResponseCache } from "../../src/index.js";
import { json, startServer, type TestServer } from "../helpers/http-server.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, sql, testSchema } from "../helpers/postgres.js";
import { keysUnder, pingRedis, REDIS_URL, removePrefix, uniquePrefix } from "../helpers/redis.js";

const SECRETS = ["bearer-secret-alpha", "bearer-secret-beta", "query-key-secret", "cookie-secret-gamma"];

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  for (const backend of ["redis", "postgres"]) {
    server.on(`/${backend}/me?api_key=query-key-secret&view=full`, (_request, response, hit) =>
      json(
        response,
        { hit },
        { headers: { "cache-control": "max-age=3600", "set-cookie": "sid=cookie-secret-gamma" } },
      ),
    );
  }
});
afterAll(async () => {
  await server.close();
});

/** Fetches as two users, with a key in the query and a cookie set by the origin; checks they stay apart. */
async function exercise(cache: ResponseCache, backend: string): Promise<void> {
  await using session = new CachedSession({ cache, logger: null });
  const url = server.url(`/${backend}/me?api_key=query-key-secret&view=full`);
  const as = (token: string) => session.fetch(url, { headers: { authorization: `Bearer ${token}` } });
  expect(await (await as("bearer-secret-alpha")).json()).toEqual({ hit: 1 });
  expect(await (await as("bearer-secret-beta")).json()).toEqual({ hit: 2 });
  const again = await as("bearer-secret-alpha");
  expect(again).toBeInstanceOf(CachedResponse);
  expect(await again.json()).toEqual({ hit: 1 });
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

const redisReason = await pingRedis();
if (redisReason !== undefined) {
  if (process.env.CI) throw new Error(`Redis does not answer: ${redisReason} (CI must run it)`);
  console.warn(`[credentials on Redis] skipping: ${redisReason}`);
}
describe.skipIf(redisReason !== undefined)("credentials on Redis", () => {
  it("leave no trace in any key or value", async () => {
    const prefix = uniquePrefix();
    const client = new Redis(REDIS_URL);
    try {
      await exercise(RedisCache.connect(REDIS_URL, { prefix }), "redis");
      const keys = await keysUnder(client, prefix);
      expect(keys.length).toBeGreaterThan(0);
      let dump = keys.join("\n");
      for (const key of keys) {
        const type = await client.type(key);
        if (type === "string") dump += (await client.getBuffer(key))?.toString("latin1") ?? "";
        else if (type === "hash") dump += JSON.stringify(await client.hgetall(key));
        else if (type === "zset") dump += (await client.zrange(key, 0, -1)).join("\n");
      }
      expectNoSecret(dump);
    } finally {
      client.disconnect();
      await removePrefix(prefix);
    }
  });
});

const postgresReason = await postgresUnavailable();
if (postgresReason !== undefined) console.warn(`[credentials on PostgreSQL] skipping: ${postgresReason}`);
describe.skipIf(postgresReason !== undefined)("credentials on PostgreSQL", () => {
  it("leave no trace in any row", async () => {
    const schema = testSchema("credentials");
    try {
      await exercise(PostgresCache.connect(POSTGRES_URL, { schema }), "postgres");
      const tables = await sql<[string]>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", [
        schema,
      ]);
      expect(tables.length).toBeGreaterThan(0);
      let dump = "";
      for (const [table] of tables) {
        const rows = await sql(`SELECT * FROM "${schema}"."${table.replaceAll('"', '""')}"`);
        dump += JSON.stringify(rows, (_key, value: unknown) =>
          value instanceof Uint8Array ? Buffer.from(value).toString("latin1") : value,
        );
      }
      expect(dump).toContain("api_key=REDACTED");
      expectNoSecret(dump);
    } finally {
      await dropSchema(schema);
    }
  });
});
