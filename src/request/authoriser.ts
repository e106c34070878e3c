import { describeValue } from "../describe.js";

/**
 * Gives the headers that authorise a request, and fresh ones when the server refuses them.
 *
 * A request handler asks for `headers()` before each network request (cache hits need none that
 * they would send), and calls `refresh()` once when a request is answered 401.
 *
 * @example
 * const authoriser: Authoriser = {
 *   headers: async () => ({ "x-api-key": process.env.API_KEY ?? "" }),
 *   refresh: async () => false, // a fixed key: a 401 is final
 * };
 */
export interface Authoriser {
  /** The headers to add to a request, such as `Authorization`. */
  headers(): Promise<Record<string, string>>;
  /**
   * Gets fresh credentials after `rejected` was answered 401. Resolves to true when the next
   * `headers()` may succeed where the rejected ones failed (so the request is sent again), or false
   * when there is nothing fresher to offer (so the 401 is final).
   */
  refresh(rejected: Request): Promise<boolean>;
}

/** Options of a {@link BasicAuthoriser}. */
export interface BasicAuthoriserOptions {
  /**
   * The user name: it may not hold a colon (RFC 7617 §2).
   * @example { username: "alice", password: "s3cret" }
   */
  username: string;
  /**
   * The password.
   * @example { username: "alice", password: "s3cret" }
   */
  password: string;
}

/**
 * HTTP Basic authentication (RFC 7617): `Authorization: Basic base64(username:password)`, with the
 * user name and password encoded as UTF-8. The credentials are fixed, so a 401 is final.
 *
 * @example
 * const handler = RequestHandler.create({ authoriser: new BasicAuthoriser({ username: "alice", password: "s3cret" }) });
 */
export class BasicAuthoriser implements Authoriser {
  readonly #headers: Record<string, string>;

  constructor(options: BasicAuthoriserOptions) {
    const { username, password } = options ?? ({} as BasicAuthoriserOptions);
    if (typeof username !== "string") throw new TypeError(`username must be a string, got ${describeValue(username)}`);
    if (typeof password !== "string") throw new TypeError(`password must be a string, got ${describeValue(password)}`);
    if (username.includes(":")) throw new RangeError("username may not hold a colon (RFC 7617 §2)");
    this.#headers = { authorization: `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}` };
  }

  async headers(): Promise<Record<string, string>> {
    return { ...this.#headers };
  }

  async refresh(): Promise<boolean> {
    return false;
  }
}

/** Options of a {@link BearerAuthoriser}. */
export interface BearerAuthoriserOptions {
  /**
   * The bearer token, or a function that gets one. A function is called on first use and again
   * after each 401, so that it can fetch a fresh token; a fixed token makes a 401 final.
   * @example { token: process.env.API_TOKEN }
   * @example { token: async () => (await vault.read("api-token")).value }
   */
  token: string | (() => string | Promise<string>);
}

/**
 * Bearer token authentication (RFC 6750): `Authorization: Bearer TOKEN`.
 *
 * @example
 * const authoriser = new BearerAuthoriser({ token: async () => readTokenSomehow() });
 */
export class BearerAuthoriser implements Authoriser {
  readonly #source: () => string | Promise<string>;
  readonly #fixed: boolean;
  #token: Promise<string> | undefined;
  #refreshing: Promise<boolean> | undefined;

  constructor(options: BearerAuthoriserOptions) {
    const token = options?.token;
    if (typeof token === "string") {
      checkToken(token);
      this.#source = () => token;
      this.#fixed = true;
    } else if (typeof token === "function") {
      this.#source = token;
      this.#fixed = false;
    } else {
      throw new TypeError(`token must be a string or a function that returns one, got ${describeValue(token)}`);
    }
  }

  async headers(): Promise<Record<string, string>> {
    this.#token ??= this.#get();
    return { authorization: `Bearer ${await this.#token}` };
  }

  refresh(rejected: Request): Promise<boolean> {
    if (this.#fixed) return Promise.resolve(false);
    // Requests refused together share one new token.
    this.#refreshing ??= this.#refresh(rejected).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(rejected: Request): Promise<boolean> {
    const before = await this.#token?.catch(() => undefined);
    // A request sent before an earlier refresh only needs to go again with the token it brought.
    if (before !== undefined && `Bearer ${before}` !== rejected.headers.get("authorization")) return true;
    const fresh = this.#get();
    this.#token = fresh;
    return (await fresh) !== before;
  }

  #get(): Promise<string> {
    const pending = Promise.resolve()
      .then(this.#source)
      .then((token) => checkToken(token));
    // A failed fetch of the token is not kept: the next request tries again.
    pending.catch(() => {
      if (this.#token === pending) this.#token = undefined;
    });
    return pending;
  }
}

function checkToken(token: unknown): string {
  if (typeof token !== "string" || token.length === 0 || /[\s]/.test(token)) {
    throw new TypeError(`a bearer token must be a non-empty string without spaces, got ${describeValue(token)}`);
  }
  return token;
}
