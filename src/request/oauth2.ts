import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { redactUrl } from "../credentials.js";
import { describeValue } from "../describe.js";
import { RequestError, ResponseError } from "../errors.js";
import type { FetchFunction } from "../session/options.js";
import type { Authoriser } from "./authoriser.js";

/** Options of an {@link OAuth2ClientCredentials} authoriser. */
export interface OAuth2ClientCredentialsOptions {
  /**
   * The token endpoint of the authorisation server.
   * @example { tokenUrl: "https://auth.example.com/oauth/token" }
   */
  tokenUrl: string | URL;
  /**
   * The client identifier.
   * @example { clientId: process.env.CLIENT_ID }
   */
  clientId: string;
  /**
   * The client secret.
   * @example { clientSecret: process.env.CLIENT_SECRET }
   */
  clientSecret: string;
  /**
   * The scope to ask for: a space-separated string or a list.
   * @default none (the server's default scope)
   * @example { scope: ["catalogue:read", "catalogue:write"] }
   */
  scope?: string | readonly string[];
  /**
   * More form parameters for the token request, such as an `audience`.
   * @default {}
   * @example { params: { audience: "https://api.example.com" } }
   */
  params?: Readonly<Record<string, string>>;
  /**
   * How the client authenticates to the token endpoint (RFC 6749 §2.3.1): with HTTP Basic
   * credentials, which every server supports, or as `client_id` and `client_secret` form parameters.
   * @default "basic"
   * @example { clientAuthentication: "body" }
   */
  clientAuthentication?: "basic" | "body";
  /**
   * How long before its expiry a token is replaced, in milliseconds, so that a request never goes out
   * with a token about to lapse. At most half a token's lifetime is used.
   * @default 60_000
   * @example { refreshBefore: 5 * 60_000 }
   */
  refreshBefore?: number;
  /**
   * A file to keep the token in, so that another run reuses it until it expires instead of asking
   * for a new one. Written with owner-only permissions (0600), as it holds a secret; a file that is
   * missing, unreadable or for another client or server is ignored and replaced.
   * @default none (the token is kept in memory only)
   * @example { tokenFile: ".cache/catalogue-token.json" }
   */
  tokenFile?: string;
  /**
   * The fetch that reaches the token endpoint.
   * @default globalThis.fetch
   * @example { fetch: (input, init) => fetch(input, { ...init, dispatcher: proxyAgent }) }
   */
  fetch?: FetchFunction;
  /**
   * The clock, in epoch milliseconds. Replace it to control expiry in tests.
   * @default Date.now
   * @example { now: () => fakeTime }
   */
  now?: () => number;
}

/** A token as this authoriser keeps it, in memory and in its file. */
interface Token {
  accessToken: string;
  tokenType: string;
  /** When the token was issued, in epoch milliseconds. */
  obtainedAt: number;
  /** When it expires, in epoch milliseconds; `null` when the server did not say. */
  expiresAt: number | null;
}

/** The version of the token file's format. */
const FILE_VERSION = 1;

/**
 * The OAuth 2.0 client credentials grant (RFC 6749 §4.4): fetches an access token from the token
 * endpoint with the client's own credentials, sends it as `Authorization: Bearer TOKEN`, replaces it
 * shortly before it expires and after a 401, and can keep it in a file between runs.
 *
 * Requests that need a token at the same moment share one token request.
 *
 * @example
 * const authoriser = new OAuth2ClientCredentials({
 *   tokenUrl: "https://auth.example.com/oauth/token",
 *   clientId: process.env.CLIENT_ID ?? "",
 *   clientSecret: process.env.CLIENT_SECRET ?? "",
 *   tokenFile: ".cache/token.json",
 * });
 * await using handler = RequestHandler.create({ authoriser });
 */
export class OAuth2ClientCredentials implements Authoriser {
  /** The token endpoint. */
  readonly tokenUrl: string;
  /** The client identifier. */
  readonly clientId: string;
  /** The scope asked for, space-separated; empty for the server's default. */
  readonly scope: string;
  /** The file that keeps the token, if any. */
  readonly tokenFile: string | undefined;

  readonly #secret: string;
  readonly #params: Readonly<Record<string, string>>;
  readonly #clientAuthentication: "basic" | "body";
  readonly #refreshBefore: number;
  readonly #fetch: FetchFunction | undefined;
  readonly #now: () => number;
  #token: Token | undefined;
  #pending: Promise<Token> | undefined;
  #loaded = false;

  constructor(options: OAuth2ClientCredentialsOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`OAuth2ClientCredentials takes an options object, got ${describeValue(options)}`);
    }
    const { tokenUrl, clientId, clientSecret, scope, params = {}, clientAuthentication = "basic" } = options;
    const { refreshBefore = 60_000, tokenFile, fetch, now } = options;
    try {
      this.tokenUrl = new URL(tokenUrl).href;
    } catch (cause) {
      throw new TypeError(
        `tokenUrl must be an absolute URL, got ${describeValue(typeof tokenUrl === "string" ? redactUrl(tokenUrl) : tokenUrl)}`,
        { cause },
      );
    }
    if (typeof clientId !== "string" || clientId.length === 0) {
      throw new TypeError(`clientId must be a non-empty string, got ${describeValue(clientId)}`);
    }
    if (typeof clientSecret !== "string") {
      throw new TypeError(`clientSecret must be a string, got ${describeValue(clientSecret)}`);
    }
    if (scope !== undefined && typeof scope !== "string" && !Array.isArray(scope)) {
      throw new TypeError(`scope must be a string or a list of strings, got ${describeValue(scope)}`);
    }
    if (typeof params !== "object" || params === null) {
      throw new TypeError(`params must be an object of strings, got ${describeValue(params)}`);
    }
    if (clientAuthentication !== "basic" && clientAuthentication !== "body") {
      throw new TypeError(`clientAuthentication must be "basic" or "body", got ${describeValue(clientAuthentication)}`);
    }
    if (typeof refreshBefore !== "number" || !Number.isFinite(refreshBefore) || refreshBefore < 0) {
      throw new RangeError(
        `refreshBefore must be a finite number of milliseconds, 0 or more, got ${describeValue(refreshBefore)}`,
      );
    }
    if (tokenFile !== undefined && (typeof tokenFile !== "string" || tokenFile.length === 0)) {
      throw new TypeError(`tokenFile must be a path, got ${describeValue(tokenFile)}`);
    }
    if (fetch !== undefined && typeof fetch !== "function") {
      throw new TypeError(`fetch must be a function, got ${describeValue(fetch)}`);
    }
    if (now !== undefined && typeof now !== "function") {
      throw new TypeError(`now must be a function returning epoch milliseconds, got ${describeValue(now)}`);
    }
    this.clientId = clientId;
    this.scope = typeof scope === "string" ? scope : (scope ?? []).join(" ");
    this.tokenFile = tokenFile;
    this.#secret = clientSecret;
    this.#params = params;
    this.#clientAuthentication = clientAuthentication;
    this.#refreshBefore = refreshBefore;
    this.#fetch = fetch;
    this.#now = now ?? Date.now;
  }

  /** When the current token expires, in epoch milliseconds (`undefined` with no token or no stated expiry). */
  get expiresAt(): number | undefined {
    return this.#token?.expiresAt ?? undefined;
  }

  async headers(): Promise<Record<string, string>> {
    if (!this.#loaded) await this.#load();
    const token = this.#token !== undefined && !this.#dueForRefresh(this.#token) ? this.#token : await this.#renew();
    return { authorization: header(token) };
  }

  async refresh(rejected: Request): Promise<boolean> {
    if (this.#pending !== undefined) {
      await this.#pending; // a new token is on its way already
      return true;
    }
    // Several requests refused with the same token ask for one new token, not one each.
    const current = this.#token;
    if (current === undefined || rejected.headers.get("authorization") === header(current)) await this.#renew();
    return true;
  }

  #dueForRefresh(token: Token): boolean {
    if (token.expiresAt === null) return false;
    const margin = Math.min(this.#refreshBefore, (token.expiresAt - token.obtainedAt) / 2);
    return this.#now() >= token.expiresAt - margin;
  }

  /** A new token; requests that ask at the same time share it. */
  #renew(): Promise<Token> {
    this.#pending ??= this.#request()
      .then(async (token) => {
        this.#token = token;
        await this.#save(token);
        return token;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  async #request(): Promise<Token> {
    const body = new URLSearchParams({ ...this.#params, grant_type: "client_credentials" });
    if (this.scope) body.set("scope", this.scope);
    const headers = new Headers({ accept: "application/json" });
    if (this.#clientAuthentication === "basic") {
      // RFC 6749 §2.3.1: both are form-encoded before they are joined and base64-encoded.
      const user = `${formEncode(this.clientId)}:${formEncode(this.#secret)}`;
      headers.set("authorization", `Basic ${Buffer.from(user, "utf8").toString("base64")}`);
    } else {
      body.set("client_id", this.clientId);
      body.set("client_secret", this.#secret);
    }
    const request = new Request(this.tokenUrl, { method: "POST", headers, body });
    const sentAt = this.#now();
    let response: Response;
    try {
      response = await (this.#fetch ?? globalThis.fetch)(request.clone());
    } catch (cause) {
      throw new RequestError(`could not reach the token endpoint ${redactUrl(this.tokenUrl)}: ${String(cause)}`, {
        request,
        cause,
      });
    }
    const text = await response
      .clone()
      .text()
      .catch(() => "");
    if (!response.ok) {
      const detail = describeTokenError(text);
      throw new ResponseError(
        `the token endpoint ${redactUrl(this.tokenUrl)} answered ${response.status}${detail ? `: ${detail}` : ""}`,
        { request, response, body: text },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new ResponseError(`the token endpoint ${redactUrl(this.tokenUrl)} answered with a body that is not JSON`, {
        request,
        response,
        body: text,
        cause,
      });
    }
    const token = toToken(parsed, sentAt);
    if (token === undefined) {
      throw new ResponseError(
        `the token endpoint ${redactUrl(this.tokenUrl)} answered without a usable access_token and token_type (RFC 6749 §5.1)`,
        { request, response, body: text },
      );
    }
    return token;
  }

  /** Reads the token file once, keeping its token if it is for this client and still usable. */
  async #load(): Promise<void> {
    this.#loaded = true;
    if (this.tokenFile === undefined || this.#token !== undefined) return;
    let stored: unknown;
    try {
      stored = JSON.parse(await readFile(this.tokenFile, "utf8"));
    } catch {
      return; // missing or unreadable: a new token replaces it
    }
    if (typeof stored !== "object" || stored === null) return;
    const file = stored as Record<string, unknown>;
    if (
      file.version !== FILE_VERSION ||
      file.tokenUrl !== this.tokenUrl ||
      file.clientId !== this.clientId ||
      file.scope !== this.scope
    ) {
      return;
    }
    const token: Token = {
      accessToken: file.accessToken as string,
      tokenType: file.tokenType as string,
      obtainedAt: file.obtainedAt as number,
      expiresAt: file.expiresAt as number | null,
    };
    const valid =
      typeof token.accessToken === "string" &&
      token.accessToken.length > 0 &&
      typeof token.tokenType === "string" &&
      Number.isFinite(token.obtainedAt) &&
      (token.expiresAt === null || Number.isFinite(token.expiresAt));
    if (valid && this.#token === undefined) this.#token = token;
  }

  /** Writes the token file: to a temporary file first, then renamed over the old one. */
  async #save(token: Token): Promise<void> {
    if (this.tokenFile === undefined) return;
    const file = {
      version: FILE_VERSION,
      tokenUrl: this.tokenUrl,
      clientId: this.clientId,
      scope: this.scope,
      ...token,
    };
    const temporary = `${this.tokenFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await mkdir(dirname(this.tokenFile), { recursive: true });
    await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, this.tokenFile);
  }
}

function header(token: Token): string {
  // RFC 6750 §4: the token type is matched without regard to case; send it in its usual form.
  const type = token.tokenType.toLowerCase() === "bearer" ? "Bearer" : token.tokenType;
  return `${type} ${token.accessToken}`;
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** The token in a successful token response (RFC 6749 §5.1), or `undefined` if it has none. */
function toToken(body: unknown, sentAt: number): Token | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { access_token, token_type, expires_in } = body as Record<string, unknown>;
  if (typeof access_token !== "string" || access_token.length === 0) return undefined;
  if (typeof token_type !== "string" || token_type.length === 0) return undefined;
  // Some servers send expires_in as a string; a missing or unusable one means "until refused".
  const seconds = typeof expires_in === "string" ? Number(expires_in) : expires_in;
  const expiresAt =
    typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0 ? sentAt + seconds * 1000 : null;
  return { accessToken: access_token, tokenType: token_type, obtainedAt: sentAt, expiresAt };
}

/** The `error` and `error_description` of a token error response (RFC 6749 §5.2), if there are any. */
function describeTokenError(text: string): string {
  try {
    const { error, error_description } = JSON.parse(text) as Record<string, unknown>;
    if (typeof error !== "string") return "";
    return typeof error_description === "string" ? `${error} (${error_description})` : error;
  } catch {
    return "";
  }
}
