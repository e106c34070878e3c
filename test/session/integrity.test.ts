/**
 * A stored payload that no longer deserializes is never an answer: the hit is checked through the
 * repository's payload handler, the failure is reported, the network answers, and its response
 * replaces the broken entry. The check costs no second parse: json() takes the value it made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse, type SessionEvent, SQLiteCache } from "../../src/index.js";
import { startServer, type TestServer } from "../helpers/http-server.js";
import { backends, sessionOn } from "../helpers/session.js";

let server: TestServer;
const { list, cleanup } = backends();
let unique = 0;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
  cleanup();
});

for (const backend of list) {
  describe(`a broken payload on ${backend.name}`, () => {
    for (const broken of ['{"id": trunc', "\u0000\u00ff\u00fe garbage"]) {
      it(`is a miss, reported, and replaced (${JSON.stringify(broken.slice(0, 6))}…)`, async () => {
        const events: SessionEvent[] = [];
        const session = await sessionOn(backend, {}, { onEvent: (event) => events.push(event) });
        try {
          const path = `/v1/tracks/t${++unique}`;
          const url = server.url(path);
          expect(await (await session.fetch(url)).json()).toMatchObject({ hit: 1 });
          const tracks = session.cache.get("tracks");
          const entry = await tracks?.getEntry(["GET", `t${unique}`]);
          expect(entry).toBeDefined();
          if (session.cache instanceof SQLiteCache) {
            session.cache.connection
              .prepare(`UPDATE "tracks" SET "payload" = ? WHERE "id" = ?`)
              .run(broken, `t${unique}`);
          } else {
            await tracks?.saveEntries([{ ...(entry as NonNullable<typeof entry>), payload: broken }]);
          }

          const answer = await session.fetch(url);
          expect(answer).not.toBeInstanceOf(CachedResponse);
          expect(await answer.json()).toMatchObject({ hit: 2 });
          expect(server.count(path)).toBe(2);
          expect(events.some((event) => event.type === "error" && event.kind === "payload")).toBe(true);

          const repaired = await session.fetch(url);
          expect(repaired).toBeInstanceOf(CachedResponse);
          expect(await repaired.json()).toMatchObject({ hit: 2 });
        } finally {
          await session.close();
        }
      });
    }

    it("hands json() the value the check parsed, and a clone its own", async () => {
      const session = await sessionOn(backend);
      try {
        const url = server.url(`/v1/tracks/t${++unique}`);
        await (await session.fetch(url)).arrayBuffer();
        const hit = await session.fetch(url);
        const copy = hit.clone();
        const [a, b] = [await hit.json(), await copy.json()];
        expect(a).toEqual(b);
        expect(a).not.toBe(b);
        await expect(hit.json()).rejects.toThrow(TypeError); // read once, as any Response
      } finally {
        await session.close();
      }
    });
  });
}
