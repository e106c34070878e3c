/** The two additions to the repository that the session uses: saveResponseBytes, and getEntry with includeExpired. */
import { afterAll, describe, expect, it } from "vitest";
import {
  type AnyRepository,
  defineSettings,
  JSONPayloadHandler,
  PayloadHandlerError,
  StringPayloadHandler,
} from "../../src/index.js";
import { backends, fakeClock } from "../helpers/session.js";

const { list, cleanup } = backends();
afterAll(cleanup);

const head = {
  status: 203,
  headers: [
    ["content-type", "application/json"],
    ["x-b", "2"],
    ["x-a", "1"],
  ] as [string, string][],
  url: "https://api.example.com/v1/tracks/42",
};

describe.each(list)("repository additions on $name", (backend) => {
  async function repositoryWith(payloadHandler: JSONPayloadHandler | StringPayloadHandler, now?: () => number) {
    const cache = backend.make(now === undefined ? {} : { now, expire: 1_000 });
    const repository = cache.createRepository(
      defineSettings({
        name: "tracks",
        fields: ["id"],
        getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[3] : null],
        getName: (payload: unknown) => (payload as { name?: string }).name,
        payloadHandler,
      }),
    ) as AnyRepository;
    await cache.connect();
    return { cache, repository };
  }

  it("saveResponseBytes stores the body exactly, with the status, headers (in order), URL and name", async () => {
    const { cache, repository } = await repositoryWith(new JSONPayloadHandler());
    const text = '{ "name": "Song 42",  "n": 1 }';
    const request = { method: "GET", url: head.url };
    expect(await repository.saveResponseBytes(request, head, new TextEncoder().encode(text))).toBe(true);
    const entry = await repository.getEntry(["GET", "42"]);
    expect(entry).toMatchObject({
      key: ["GET", "42"],
      name: "Song 42",
      payload: text,
      status: 203,
      headers: JSON.stringify(head.headers),
      url: head.url,
    });
    await cache.close();
  });

  it("saveResponseBytes saves nothing for a request without a key, and refuses bytes the handler cannot store", async () => {
    const { cache, repository } = await repositoryWith(new JSONPayloadHandler());
    const post = { method: "POST", url: head.url };
    expect(await repository.saveResponseBytes(post, head, new TextEncoder().encode("{}"))).toBe(false);
    const get = { method: "GET", url: head.url };
    await expect(repository.saveResponseBytes(get, head, new TextEncoder().encode("<html>"))).rejects.toThrow(
      PayloadHandlerError,
    );
    const text = await repositoryWith(new StringPayloadHandler());
    await expect(text.repository.saveResponseBytes(get, head, new Uint8Array([0xff]))).rejects.toThrow(
      PayloadHandlerError,
    );
    expect(await repository.count()).toBe(0);
    await cache.close();
    await text.cache.close();
  });

  it("getEntry with includeExpired returns an expired entry the backend still holds", async () => {
    const { clock, now } = fakeClock();
    const { cache, repository } = await repositoryWith(new JSONPayloadHandler(), now);
    await repository.saveResponse([["GET", "42"], { name: "Song 42" }]);
    clock.advance(5_000);
    expect(await repository.getEntry(["GET", "42"])).toBeUndefined();
    const stale = await repository.getEntry(["GET", "42"], { includeExpired: true });
    expect(stale?.payload).toBe('{"name":"Song 42"}');
    expect(stale?.expiresAt).toBe(clock.now - 4_000);
    expect(await repository.getEntry(["GET", "43"], { includeExpired: true })).toBeUndefined();
    await cache.close();
  });
});
