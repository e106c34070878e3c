import {
  blobTypeOf,
  bytesOf,
  type DeferredBody,
  deferBody,
  deferStream,
  defineHeldReads,
  parsed,
  textOf,
} from "./held-body.js";
import type { Pairs } from "./http/fields.js";
import { Recording } from "./recording.js";

type Body = ConstructorParameters<typeof Response>[0];

/** The body methods that read a whole body, and what each gives for the bytes of one. */
const WHOLE_READS: Readonly<
  Record<string, (bytes: Uint8Array, response: Response, recording: Recording) => Promise<unknown>>
> = {
  text: async (bytes) => textOf(bytes),
  json: (bytes, _response, recording) => {
    const known = recording.parsedJson;
    recording.parsedJson = undefined;
    return known === undefined ? parsed(textOf(bytes)) : Promise.resolve(known.value);
  },
  arrayBuffer: async (bytes) => bytesOf(bytes).buffer,
  bytes: async (bytes) => bytesOf(bytes),
  blob: async (bytes, response) => new Blob([bytes], { type: blobTypeOf(response.headers.get("content-type")) ?? "" }),
};

const responseBodyUsed = Object.getOwnPropertyDescriptor(Response.prototype, "bodyUsed")?.get as () => boolean;
const responseHeaders = Object.getOwnPropertyDescriptor(Response.prototype, "headers")?.get as () => Headers;
const responseFormData = Response.prototype.formData;
const responseClone = Response.prototype.clone;

/** How a deferred body reaches its response's private state (set in the class's static block). */
let deferred: DeferredBody<NetworkResponse>;

/**
 * A network response rebuilt over a body that the session read: the origin's status, status text,
 * headers, URL and redirect flag, which `new Response()` alone cannot carry. When the body is bytes
 * in memory, `json()`, `text()`, `arrayBuffer()`, `bytes()` and `blob()` read them as they are, and
 * the body's stream is made only when something reads it. When the body is a {@link Recording},
 * those methods take the recorded bytes once the recording ends, and the stream is made only for
 * a caller that asks for it (or for a body that the recording could not keep whole).
 */
export class NetworkResponse extends Response {
  declare readonly url: string;
  declare readonly redirected: boolean;
  declare readonly bodyUsed: boolean;
  declare readonly clone: () => NetworkResponse;
  declare readonly headers: Headers;

  readonly #url: string;
  readonly #redirected: boolean;
  /** The body's bytes while they are read from here; `undefined` once `Response` holds the body. */
  #held: Uint8Array | undefined;
  /** The body's bytes, shared with clones. */
  readonly #bytes: Uint8Array | undefined;
  /** Whether the body was read from `#held`. */
  #used = false;
  /** The recording of a network body, while its bytes can be taken from it. */
  readonly #recording: Recording | undefined;
  /**
   * Header pairs not yet copied into `headers`: filled on first use (most callers read only the
   * body), and before anything of `Response`'s own reads the body's stream, which it does before it
   * reads the header list.
   */
  #pending: Pairs | undefined;

  constructor(body: Body | Recording, init: ResponseInit, url: string, redirected = false) {
    const defer = body instanceof Uint8Array && deferBody !== undefined;
    const recording = body instanceof Recording ? body : undefined;
    const deferRecording = recording !== undefined && deferStream !== undefined;
    // Pairs are copied into the header list when first needed; only a deferred body tells when.
    const lazy = (defer || deferRecording) && Array.isArray(init.headers);
    const head = lazy ? { status: init.status ?? 200, statusText: init.statusText ?? "" } : init;
    super(defer || deferRecording ? null : recording !== undefined ? recording.stream : (body as Body), head);
    this.#url = url;
    this.#redirected = redirected;
    this.#bytes = body instanceof Uint8Array ? body : undefined;
    if (lazy) this.#pending = init.headers as unknown as Pairs;
    if (defer) {
      this.#held = body;
      deferBody?.(this, deferred);
    }
    if (deferRecording) {
      this.#recording = recording;
      deferStream?.(this, () => {
        this.#fill();
        return recording.stream;
      });
    }
  }

  /** Copies the pending pairs into `headers`, once. */
  #fill(): Headers {
    const headers = responseHeaders.call(this);
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      for (const [name, value] of pending) headers.append(name, value);
    }
    return headers;
  }

  static {
    deferred = {
      held: (response) => response.#bytes as Uint8Array,
      used: (response) => response.#used,
      materialised: (response) => {
        // Response's own code reads the stream before the header list: fill it first.
        response.#fill();
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
    // A recorded body read whole: the recorded bytes, or, when the recording did not keep it whole,
    // the body's stream read by the method defined above.
    for (const [name, fromBytes] of Object.entries(WHOLE_READS)) {
      const read = Object.getOwnPropertyDescriptor(NetworkResponse.prototype, name)?.value as
        | ((this: NetworkResponse) => Promise<unknown>)
        | undefined;
      if (read === undefined) continue;
      Object.defineProperty(NetworkResponse.prototype, name, {
        configurable: true,
        writable: true,
        value(this: NetworkResponse): Promise<unknown> {
          const recording = this.#recording;
          if (recording === undefined || !recording.untouched) return read.call(this);
          // Where only Response can say what a blob's type is, it reads the stream.
          if (name === "blob" && blobTypeOf(this.headers.get("content-type")) === undefined) return read.call(this);
          return recording
            .take()
            .then((bytes) => (bytes === undefined ? read.call(this) : fromBytes(bytes, this, recording)));
        },
      });
    }
    Object.defineProperties(NetworkResponse.prototype, {
      headers: {
        configurable: true,
        get(this: NetworkResponse): Headers {
          return this.#fill();
        },
      },
      formData: {
        configurable: true,
        writable: true,
        value(this: NetworkResponse): Promise<FormData> {
          this.#fill();
          return responseFormData.call(this);
        },
      },
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
