/**
 * `requestful show URL` on a cache that `new CachedSession()` filled: the default HTTP repository's
 * key is made from the URL alone, so the command routes the URL as a session would (a dry run),
 * finds entries of credential partitions by their redacted URL, and says which key a miss looked for.
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CachedSession } from "../../src/index.js";
import { json, startServer, type TestServer } from "../helpers/http-server.js";
import { tempFolder } from "../helpers/temp.js";
import { cli } from "./cli.js";

let server: TestServer;
const folder = tempFolder("requestful-cli-default-");
const store = join(folder.path, "default.sqlite");

beforeAll(async () => {
  server = await startServer({ headers: { "cache-control": "max-age=3600" } });
  // The default answer echoes its path: this one answers without the key in its body.
  server.on("/me?api_key=secret-key-123", (_request, response) =>
    json(response, { me: true }, { headers: { "cache-control": "max-age=3600" } }),
  );
  await using session = new CachedSession({ cache: store });
  await (await session.fetch(server.url("/tracks/1?b=2&a=1"))).arrayBuffer();
  await (await session.fetch(server.url("/me?api_key=secret-key-123"))).arrayBuffer();
});
afterAll(async () => {
  await server.close();
  folder.remove();
});

it("routes a URL to its key in the default repository, as a session would", async () => {
  const found = await cli(["show", server.url("/tracks/1?a=1&b=2#top"), "--cache", store, "--json"]);
  expect(found.code).toBe(0);
  const shown = JSON.parse(found.stdout) as { found: { repository: string; key: unknown[] }[] };
  expect(shown.found).toHaveLength(1);
  expect(shown.found[0]?.repository).toBe("http");
  expect(shown.found[0]?.key).toEqual(["GET", server.url("/tracks/1?a=1&b=2"), "", ""]);

  const partitioned = await cli(["show", server.url("/me?api_key=secret-key-123"), "--cache", store]);
  expect(partitioned.code).toBe(0);
  expect(partitioned.stdout).toContain("api_key=REDACTED");
  expect(partitioned.stdout + partitioned.stderr).not.toContain("secret-key-123");

  const missing = await cli(["show", server.url("/tracks/2"), "--cache", store]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(`is keyed ${JSON.stringify(["GET", server.url("/tracks/2"), "", ""])}`);
});
