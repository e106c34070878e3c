import { type DeferredBody, deferBody, defineHeldReads } from "./held-body.js";

type Body = ConstructorParameters<typeof Response>[0];

const responseBodyUsed = Object.getOwnPropertyDescriptor(Response.prototype, "bodyUsed")?.get as () => boolean;
const responseClone = Response.prototype.clone;

/** How a deferred body reaches its response's private state (set in the class's static block). */
let deferred: DeferredBody<NetworkResponse>;

/**
 * A network response rebuilt over a body that the session read: the origin's status, status text,
 * headers, URL and redirect flag, which `new Response()` alone cannot carry. When the body is bytes
 * in memory, `json()`, `text()`, `arrayBuffer()`, `bytes()` and `blob()` read them as they are, and
 * the body's stream is made only when something reads it.
 */
export class NetworkResponse extends Response {
  declare readonly url: string;
  declare readonly redirected: boolean;
  declare readonly bodyUsed: boolean;
  declare readonly clone: () => NetworkResponse;

  readonly #url: string;
  readonly #redirected: boolean;
  /** The body's bytes while they are read from here; `undefined` once `Response` holds the body. */
  #held: Uint8Array | undefined;
  /** The body's bytes, shared with clones. */
  readonly #bytes: Uint8Array | undefined;
  /** Whether the body was read from `#held`. */
  #used = false;

  constructor(body: Body, init: ResponseInit, url: string, redirected = false) {
    const defer = body instanceof Uint8Array && deferBody !== undefined;
    super(defer ? null : body, init);
    this.#url = url;
    this.#redirected = redirected;
    this.#bytes = body instanceof Uint8Array ? body : undefined;
    if (defer) {
      this.#held = body;
      deferBody?.(this, deferred);
    }
  }

  static {
    deferred = {
      held: (response) => response.#bytes as Uint8Array,
      used: (response) => response.#used,
      materialised: (response) => {
        response.#held = undefined;
      },
    };
    defineHeldReads(NetworkResponse.prototype, {
      take: (response) => {
        const held = response.#held;
        if (held === undefined || response.#used) return undefined;
        response.#used = true;
        return held;
      },
      holds: (response) => response.#held !== undefined && !response.#used,
    });
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
      bodyUsed: {
        configurable: true,
        get(this: NetworkResponse): boolean {
          return this.#held === undefined ? responseBodyUsed.call(this) : this.#used;
        },
      },
      clone: {
        configurable: true,
        writable: true,
        value(this: NetworkResponse): NetworkResponse {
          const init = { status: this.status, statusText: this.statusText, headers: this.headers };
          if (this.#held !== undefined && !this.#used) {
            // The bytes are only ever read: the copy shares them.
            return new NetworkResponse(this.#held, init, this.#url, this.#redirected);
          }
          // A body that was read or is being read cannot be cloned: let Response say so.
          const copy = responseClone.call(this);
          return new NetworkResponse(copy.body, init, this.#url, this.#redirected);
        },
      },
    });
  }
}
