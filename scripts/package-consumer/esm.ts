import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CachedResponse,
  CachedSession,
  defineSettings,
  JSONPayloadHandler,
  MemoryCache,
  type PgPool,
  type RedisClient,
  repositoryByPathSegment,
  SQLiteCache,
  type SQLiteDatabase,
} from "requestful";

// The driver types are the package's own: they compile without ioredis, pg or their @types.
export type DriverTypes = [PgPool, RedisClient, SQLiteDatabase];

let served = 0;
const server = createServer((request, response) => {
  served++;
  response.setHeader("content-type", "application/json");
  response.end(JSON.stringify({ id: request.url?.split("/")[3], served }));
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const tracks = defineSettings<{ id: string; served: number }>({
  name: "tracks",
  fields: ["id"],
  getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[3] : null],
  payloadHandler: new JSONPayloadHandler(),
});
for (const cache of [
  new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) }),
  SQLiteCache.connectWithInMemoryDb({ repositoryGetter: repositoryByPathSegment(1) }),
]) {
  cache.createRepository(tracks);
  const session = new CachedSession({ cache });
  const first = await session.fetch(`${origin}/v1/tracks/42`);
  await first.text(); // a miss resolves at the head; its body is stored by the time it is read
  const again = await session.fetch(`${origin}/v1/tracks/42`);
  const body = (await again.json()) as { id: string };
  if (!(again instanceof CachedResponse) || body.id !== "42") {
    throw new Error(`${cache.type}: the second fetch was not answered from the cache`);
  }
  await session.close();
}
server.close();
if (served !== 2) throw new Error(`the origin served ${served} requests, expected 2 (one per cache)`);
console.log(`ESM: import works, a memory and an SQLite cache each answered the second fetch (origin served ${served})`);
