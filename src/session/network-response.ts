import { readHeldBody } from "./held-body.js";

type Body = ConstructorParameters<typeof Response>[0];

/**
 * A network response rebuilt over a body that the session read: the origin's status, status text,
 * headers, URL and redirect flag, which `new Response()` alone cannot carry. When the body is bytes
 * in memory, `text()` and `json()` take them as they are.
 */
export class NetworkResponse extends Response {
  declare readonly url: string;
  declare readonly redirected: boolean;
  declare readonly clone: () => NetworkResponse;

  readonly #url: string;
  readonly #redirected: boolean;
  readonly #bytes: Uint8Array | undefined;

  constructor(body: Body, init: ResponseInit, url: string, redirected = false) {
    super(body, init);
    this.#url = url;
    this.#redirected = redirected;
    this.#bytes = body instanceof Uint8Array ? body : undefined;
  }

  static {
    readHeldBody(NetworkResponse.prototype, (response) => response.#bytes);
    const clone = Response.prototype.clone;
    Object.defineProperties(NetworkResponse.prototype, {
      url: {
        configurable: true,
        get(this: NetworkResponse): string {
          return this.#url;
        },
      },
      redirected: {
        configurable: true,
        get(this: NetworkResponse): boolean {
          return this.#redirected;
        },
      },
      clone: {
        configurable: true,
        writable: true,
        value(this: NetworkResponse): NetworkResponse {
          const copy = clone.call(this);
          const init = { status: copy.status, statusText: copy.statusText, headers: copy.headers };
          return new NetworkResponse(copy.body, init, this.#url, this.#redirected);
        },
      },
    });
  }
}
