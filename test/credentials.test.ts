import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  CacheError,
  credentialPairs,
  DEFAULT_CREDENTIAL_HEADERS,
  DEFAULT_CREDENTIAL_PARAMS,
  hasCredentials,
  PayloadHandlerError,
  RequestError,
  RequestfulError,
  ResponseError,
  redactHeaders,
  redactUrl,
} from "../src/index.js";

const SECRET = "s3cr3t-value-42";

describe("redactUrl", () => {
  it("replaces user info and credential parameter values, and keeps the rest as written", () => {
    expect(redactUrl(`https://user:${SECRET}@api.example.com/v1/tracks?API_KEY=${SECRET}&page=2&q=a%20b#top`)).toBe(
      "https://REDACTED:REDACTED@api.example.com/v1/tracks?API_KEY=REDACTED&page=2&q=a%20b#top",
    );
  });

  it("redacts every default parameter name, given twice, empty or without a value", () => {
    for (const name of DEFAULT_CREDENTIAL_PARAMS) {
      const out = redactUrl(`https://example.com/?${name}=${SECRET}&${name}=${SECRET}2&other=1`);
      expect(out).not.toContain(SECRET);
      expect(out).toBe(`https://example.com/?${name}=REDACTED&${name}=REDACTED&other=1`);
    }
    expect(redactUrl("https://example.com/?token")).toBe("https://example.com/?token=REDACTED");
  });

  it("redacts tokens in the fragment (the OAuth implicit flow puts them there)", () => {
    expect(redactUrl(`https://example.com/cb#access_token=${SECRET}&state=x`)).toBe(
      "https://example.com/cb#access_token=REDACTED&state=x",
    );
  });

  it("takes a URL object, and its own names", () => {
    const url = new URL(`https://example.com/?session=${SECRET}&api_key=k`);
    expect(redactUrl(url, { params: ["Session"] })).toBe("https://example.com/?session=REDACTED&api_key=k");
  });

  it("redacts what it can read of text that is not a URL", () => {
    expect(redactUrl(`/v1/x?api_key=${SECRET}&a=1`)).toBe("/v1/x?api_key=REDACTED&a=1");
    expect(redactUrl(`redis://default:${SECRET}@host:6379/0 oops`)).not.toContain(SECRET);
  });
});

describe("redactHeaders", () => {
  it("replaces every default credential header, whatever its case, and URLs in Referer", () => {
    const init: Record<string, string> = { Accept: "application/json", Referer: `https://a.example/?token=${SECRET}` };
    for (const name of DEFAULT_CREDENTIAL_HEADERS) init[name.toUpperCase()] = SECRET;
    const pairs = redactHeaders(new Headers(init));
    expect(JSON.stringify(pairs)).not.toContain(SECRET);
    expect(pairs).toContainEqual(["accept", "application/json"]);
    expect(pairs).toContainEqual(["authorization", "REDACTED"]);
    expect(pairs).toContainEqual(["referer", "https://a.example/?token=REDACTED"]);
  });

  it("takes plain objects and pairs, and its own names", () => {
    expect(redactHeaders({ "X-Tenant-Secret": SECRET, Authorization: "x" }, { headers: ["x-tenant-secret"] })).toEqual([
      ["x-tenant-secret", "REDACTED"],
      ["authorization", "x"],
    ]);
    expect(redactHeaders([["Cookie", "a=b"]])).toEqual([["cookie", "REDACTED"]]);
  });
});

describe("hasCredentials and credentialPairs", () => {
  it("finds credentials in headers, user info and parameters", () => {
    const plain = new URL("https://example.com/v1?page=2");
    expect(hasCredentials(undefined, plain)).toBe(false);
    expect(hasCredentials(new Headers({ accept: "*/*" }), plain)).toBe(false);
    expect(hasCredentials(new Headers({ "Proxy-Authorization": "Basic x" }), plain)).toBe(true);
    expect(hasCredentials(undefined, new URL("https://u:p@example.com/"))).toBe(true);
    expect(hasCredentials(undefined, new URL("https://example.com/?ApiKey=1"))).toBe(true);
    expect(hasCredentials(new Headers({ "x-custom": "1" }), plain, { headers: ["x-custom"] })).toBe(true);
  });

  it("gives sorted, lower-cased pairs: headers by name, parameters as ?name, user info as @userinfo", () => {
    const headers = new Headers({ Cookie: "a=1", Authorization: "Bearer t", Accept: "*/*" });
    const url = new URL("https://u:p@example.com/?Token=2&page=1&api_key=k&token=3");
    expect(credentialPairs(headers, url)).toEqual([
      ["?api_key", "k"],
      ["?token", "2"],
      ["?token", "3"],
      ["@userinfo", "u:p"],
      ["authorization", "Bearer t"],
      ["cookie", "a=1"],
    ]);
  });
});

describe("util.inspect of every error type", () => {
  const url = `https://user:${SECRET}@api.example.com/v1/x?api_key=${SECRET}&page=1`;
  const request = () =>
    new Request(`https://api.example.com/v1/x?api_key=${SECRET}&page=1`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${SECRET}`,
        cookie: `session=${SECRET}`,
        "x-api-key": SECRET,
        accept: "application/json",
      },
      body: `{"password": "${SECRET}"}`,
    });

  it("shows no credential of a RequestfulError, CacheError or PayloadHandlerError made with a redacted URL", () => {
    for (const Class of [RequestfulError, CacheError, PayloadHandlerError]) {
      const error = new Class(`could not read ${redactUrl(url)}`, { cause: new Error("below") });
      const text = inspect(error, { depth: 10 });
      expect(text).not.toContain(SECRET);
      expect(text).toContain("api_key=REDACTED&page=1");
      expect(text).toContain("below");
    }
  });

  it("keeps a RequestError's method, redacted URL and headers, and its cause, and no credential", () => {
    const cause = new TypeError("fetch failed");
    const error = new RequestError(`POST ${request().url} failed`, { request: request(), cause });
    const text = inspect(error, { depth: 10 });
    expect(text).not.toContain(SECRET);
    expect(error.message).toBe("POST https://api.example.com/v1/x?api_key=REDACTED&page=1 failed");
    expect(error.request?.method).toBe("POST");
    expect(error.request?.url).toBe("https://api.example.com/v1/x?api_key=REDACTED&page=1");
    expect(error.request?.headers.get("authorization")).toBe("REDACTED");
    expect(error.request?.headers.get("accept")).toBe("application/json");
    expect(error.request?.body).toBeNull();
    expect(error.cause).toBe(cause);
  });

  it("keeps a ResponseError's status and readable response, and shows no credential, Set-Cookie included", async () => {
    const response = new Response('{"error": "nope"}', {
      status: 403,
      statusText: "Forbidden",
      headers: { "set-cookie": `id=${SECRET}`, "content-type": "application/json" },
    });
    const error = new ResponseError(`token ${SECRET} refused`, {
      request: request(),
      response,
      body: '{"error": "nope"}',
      cause: new Error("underneath"),
    });
    const text = inspect(error, { depth: 10 });
    expect(text).not.toContain(SECRET);
    expect(error.message).toBe("token REDACTED refused");
    expect(error.status).toBe(403);
    expect(error.response.statusText).toBe("Forbidden");
    expect(error.response.headers.get("set-cookie")).toBe("REDACTED");
    expect(await error.response.json()).toEqual({ error: "nope" });
    expect((error.cause as Error).message).toBe("underneath");
  });

  it("leaves a response without credentials as it is", () => {
    const response = new Response("x", { status: 500 });
    expect(new ResponseError("m", { response, body: "x" }).response).toBe(response);
  });
});
