import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  BasicAuthoriser,
  BearerAuthoriser,
  OAuth2ClientCredentials,
  type OAuth2ClientCredentialsOptions,
  RequestError,
  RequestHandler,
  ResponseError,
} from "../../src/index.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { type Received, ScriptedServer } from "../helpers/scripted-server.js";
import { tempFolder } from "../helpers/temp.js";

let server: ScriptedServer;
const folder = tempFolder("requestful-auth-");

/** The token server: issues tok-1, tok-2, ...; only the latest token opens /api, unless `accepted` says otherwise. */
const tokens = {
  issued: 0,
  expiresIn: 3600 as number | undefined,
  accepted: undefined as ((token: string) => boolean) | undefined,
  requests: [] as Received[],
};

beforeAll(async () => {
  server = await ScriptedServer.start();
  server.route("/token", (request) => {
    tokens.requests.push(request);
    const form = new URLSearchParams(request.body);
    const basic = `Basic ${Buffer.from("client-1:s%26cret").toString("base64")}`;
    const inBody = form.get("client_id") === "client-1" && form.get("client_secret") === "s&cret";
    if (form.get("grant_type") !== "client_credentials" || (request.headers.authorization !== basic && !inBody)) {
      return { status: 401, body: { error: "invalid_client", error_description: "who are you?" } };
    }
    tokens.issued++;
    const body: Record<string, unknown> = { access_token: `tok-${tokens.issued}`, token_type: "bearer" };
    if (tokens.expiresIn !== undefined) body.expires_in = tokens.expiresIn;
    return { status: 200, body };
  });
  server.route("/api", (request) => {
    const token = request.headers.authorization?.replace(/^Bearer /, "") ?? "";
    const ok = tokens.accepted?.(token) ?? token === `tok-${tokens.issued}`;
    return ok ? { status: 200, body: `hello ${token}` } : { status: 401, body: "bad token" };
  });
});
afterAll(async () => {
  await server.close();
  folder.remove();
});
beforeEach(() => {
  tokens.issued = 0;
  tokens.expiresIn = 3600;
  tokens.accepted = undefined;
  tokens.requests.length = 0;
  server.clearLog();
});

function oauth(options: Partial<OAuth2ClientCredentialsOptions> = {}) {
  return new OAuth2ClientCredentials({
    tokenUrl: server.url("/token"),
    clientId: "client-1",
    clientSecret: "s&cret",
    ...options,
  });
}

function handlerFor(authoriser: OAuth2ClientCredentials, clock = new FakeClock()) {
  return RequestHandler.create({ authoriser, clock, waitTimer: null });
}

describe("OAuth2 client credentials", () => {
  it("fetches a token once and sends it with every request", async () => {
    const clock = new FakeClock();
    await using handler = handlerFor(oauth({ now: () => clock.now(), scope: ["read", "write"] }), clock);
    expect(await handler.get(server.url("/api"))).toBe("hello tok-1");
    expect(await handler.get(server.url("/api"))).toBe("hello tok-1");
    expect(tokens.issued).toBe(1);
    const form = new URLSearchParams(tokens.requests[0]?.body);
    expect(Object.fromEntries(form)).toEqual({ grant_type: "client_credentials", scope: "read write" });
    expect(tokens.requests[0]?.headers["content-type"]).toBe("application/x-www-form-urlencoded;charset=UTF-8");
  });

  it("can send the client credentials in the body", async () => {
    await using handler = handlerFor(oauth({ clientAuthentication: "body" }));
    expect(await handler.get(server.url("/api"))).toBe("hello tok-1");
    expect(tokens.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("replaces the token shortly before it expires, before any request is refused", async () => {
    const clock = new FakeClock();
    const authoriser = oauth({ now: () => clock.now(), refreshBefore: 60_000 });
    await using handler = handlerFor(authoriser, clock);
    await handler.get(server.url("/api"));
    expect(authoriser.expiresAt).toBe(clock.now() + 3_600_000);
    clock.time += 3_600_000 - 60_001; // just before the margin
    expect(await handler.get(server.url("/api"))).toBe("hello tok-1");
    clock.time += 1; // within a minute of expiry
    expect(await handler.get(server.url("/api"))).toBe("hello tok-2");
    expect(tokens.issued).toBe(2);
    expect(server.received.filter((request) => request.path === "/api").every((request) => request.inFlight > 0)).toBe(
      true,
    );
    expect(server.count("/api")).toBe(3); // no 401 on the way
  });

  it("replaces a token that is refused with a 401, once for many requests refused at once", async () => {
    await using handler = handlerFor(oauth());
    await handler.get(server.url("/api"));
    tokens.accepted = (token) => token === "tok-2"; // the server revoked tok-1
    const results = await Promise.all(Array.from({ length: 20 }, () => handler.get(server.url("/api"))));
    expect(new Set(results)).toEqual(new Set(["hello tok-2"]));
    expect(tokens.issued).toBe(2);
  });

  it("a token refused again after the refresh is a ResponseError", async () => {
    tokens.accepted = () => false;
    await using handler = handlerFor(oauth());
    const error = await handler.get(server.url("/api")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).status).toBe(401);
    expect(tokens.issued).toBe(2);
  });

  it("keeps the token in a file, owner-only, and reuses it in a new authoriser", async () => {
    const clock = new FakeClock();
    const tokenFile = join(folder.path, "tokens", "catalogue.json");
    {
      await using handler = handlerFor(oauth({ tokenFile, now: () => clock.now() }), clock);
      await handler.get(server.url("/api"));
    }
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(tokenFile, "utf8"));
    expect(stored).toMatchObject({ version: 1, clientId: "client-1", accessToken: "tok-1", tokenType: "bearer" });
    expect(stored.expiresAt).toBe(clock.now() + 3_600_000);

    await using again = handlerFor(oauth({ tokenFile, now: () => clock.now() }), clock);
    expect(await again.get(server.url("/api"))).toBe("hello tok-1");
    expect(tokens.issued).toBe(1);

    // A file for another client is not used, and is replaced.
    await using other = handlerFor(
      oauth({ tokenFile, clientAuthentication: "body", scope: "admin", now: () => clock.now() }),
      clock,
    );
    expect(await other.get(server.url("/api"))).toBe("hello tok-2");
    expect(JSON.parse(readFileSync(tokenFile, "utf8")).scope).toBe("admin");
  });

  it("ignores a token file that has expired or cannot be read", async () => {
    const clock = new FakeClock();
    const tokenFile = join(folder.path, "old.json");
    const old = { version: 1, tokenUrl: server.url("/token"), clientId: "client-1", scope: "", accessToken: "tok-0" };
    writeFileSync(
      tokenFile,
      JSON.stringify({ ...old, tokenType: "Bearer", obtainedAt: 0, expiresAt: clock.now() - 1 }),
    );
    await using handler = handlerFor(oauth({ tokenFile, now: () => clock.now() }), clock);
    expect(await handler.get(server.url("/api"))).toBe("hello tok-1");
    writeFileSync(tokenFile, "{ not json");
    await using again = handlerFor(oauth({ tokenFile, now: () => clock.now() }), clock);
    expect(await again.get(server.url("/api"))).toBe("hello tok-2");
  });

  it("a token without an expiry is used until it is refused", async () => {
    tokens.expiresIn = undefined;
    const clock = new FakeClock();
    await using handler = handlerFor(oauth({ now: () => clock.now() }), clock);
    await handler.get(server.url("/api"));
    clock.time += 365 * 86_400_000;
    await handler.get(server.url("/api"));
    expect(tokens.issued).toBe(1);
  });

  it("a refusal by the token endpoint is a ResponseError with the OAuth error", async () => {
    await using handler = handlerFor(oauth({ clientSecret: "wrong" }));
    const error = (await handler.get(server.url("/api")).catch((caught: unknown) => caught)) as ResponseError;
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.message).toBe(
      `the token endpoint ${server.url("/token")} answered 401: invalid_client (who are you?)`,
    );
    expect(server.count("/api")).toBe(0);
  });

  it("an unreachable token endpoint is a RequestError", async () => {
    await using handler = handlerFor(oauth({ tokenUrl: "http://127.0.0.1:1/token" }));
    const error = await handler.get(server.url("/api")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RequestError);
    expect((error as RequestError).cause).toBeInstanceOf(TypeError);
  });

  it("checks its options", () => {
    expect(() => oauth({ tokenUrl: "/token" })).toThrow(/tokenUrl must be an absolute URL/);
    expect(() => oauth({ clientId: "" })).toThrow(/clientId must be a non-empty string/);
    expect(() => oauth({ refreshBefore: -1 })).toThrow(RangeError);
    expect(() => oauth({ clientAuthentication: "digest" as "basic" })).toThrow(
      /clientAuthentication must be "basic" or "body"/,
    );
  });
});

describe("Basic and Bearer", () => {
  it("Basic encodes the user name and password as UTF-8", async () => {
    const headers = await new BasicAuthoriser({ username: "zoë", password: "pässword" }).headers();
    expect(headers).toEqual({ authorization: `Basic ${Buffer.from("zoë:pässword", "utf8").toString("base64")}` });
    expect(() => new BasicAuthoriser({ username: "a:b", password: "" })).toThrow(/may not hold a colon/);
  });

  it("Bearer sends a fixed token, and has nothing fresher after a 401", async () => {
    const authoriser = new BearerAuthoriser({ token: "abc" });
    expect(await authoriser.headers()).toEqual({ authorization: "Bearer abc" });
    expect(await authoriser.refresh(new Request("http://x/", { headers: { authorization: "Bearer abc" } }))).toBe(
      false,
    );
    expect(() => new BearerAuthoriser({ token: "a b" })).toThrow(/without spaces/);
  });

  it("Bearer with a function gets a new token after a 401, once for requests refused together", async () => {
    let calls = 0;
    const authoriser = new BearerAuthoriser({ token: async () => `t${++calls}` });
    const rejected = new Request("http://x/", { headers: await authoriser.headers() });
    expect(await Promise.all([authoriser.refresh(rejected), authoriser.refresh(rejected)])).toEqual([true, true]);
    expect(await authoriser.headers()).toEqual({ authorization: "Bearer t2" });
    expect(calls).toBe(2);
  });
});
