/**
 * Bodies held in memory already (a stored payload, or bytes the session read): read as
 * `Response`'s own methods would read them, without encoding them into a stream and decoding them
 * back, and giving exactly what those methods give.
 */
import { MIMEType } from "node:util";

const responseText = Response.prototype.text;
const responseJson = Response.prototype.json;
/** Decodes as `Response.text()` does: UTF-8, a byte order mark dropped, invalid bytes replaced. */
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** What `Response.text()` gives for a body of `held`. */
export function textOf(held: string | Uint8Array): string {
  if (typeof held !== "string") return decoder.decode(held);
  // What encoding the text as UTF-8 and decoding it again gives: lone surrogates replaced, no BOM.
  const text = (held as string & { toWellFormed(): string }).toWellFormed();
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** What `Response.bytes()` gives for a body of `held`: a new array over a buffer of its own. */
export function bytesOf(held: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return typeof held === "string" ? (encoder.encode(held) as Uint8Array<ArrayBuffer>) : new Uint8Array(held);
}

/** The parsed JSON of `text`, as a promise that rejects with the parse error, as `json()` does. */
export function parsed(text: string): Promise<unknown> {
  try {
    return Promise.resolve(JSON.parse(text));
  } catch (error) {
    return Promise.reject(error);
  }
}

const blobTypes = new Map<string, string>();

/**
 * The type `Response.blob()` gives a body with this `Content-Type` (the MIME type parsed and
 * serialised, or `""` when it does not parse), or `undefined` when only `Response` can say (a
 * header of several values).
 */
export function blobTypeOf(contentType: string | null): string | undefined {
  if (contentType === null) return "";
  if (contentType.includes(",")) return undefined;
  let type = blobTypes.get(contentType);
  if (type === undefined) {
    try {
      type = new MIMEType(contentType).toString();
    } catch {
      type = "";
    }
    if (blobTypes.size >= 256) blobTypes.clear();
    blobTypes.set(contentType, type);
  }
  return type;
}

const responseArrayBuffer = Response.prototype.arrayBuffer;
const responseBlob = Response.prototype.blob;
const responseBytes = (Response.prototype as { bytes?: () => Promise<Uint8Array> }).bytes;

/** How the body methods of a response reach what it holds. */
export interface HeldReads<T extends Response> {
  /**
   * The held body, now marked used, or `undefined` when `Response` must read the body: it holds
   * the stream already, or the body was read (so that the error is `Response`'s own).
   */
  take(response: T): string | Uint8Array | undefined;
  /**
   * The body's JSON value, parsed already by whoever held it (once: a second call gives nothing),
   * so that `json()` need not parse the text again. Optional.
   */
  parsed?(response: T): { readonly value: unknown } | undefined;
  /** Whether `take` would give the held body. */
  holds(response: T): boolean;
}

/**
 * Defines `text()`, `json()`, `arrayBuffer()`, `bytes()` (where `Response` has it) and `blob()` on
 * a Response subclass: each reads the held body when there is one, and is `Response`'s own
 * otherwise.
 */
export function defineHeldReads<T extends Response>(prototype: T, reads: HeldReads<T>): void {
  const method = (value: (this: T) => Promise<unknown>): PropertyDescriptor => ({
    configurable: true,
    writable: true,
    value,
  });
  Object.defineProperties(prototype, {
    text: method(function (this: T) {
      const held = reads.take(this);
      return held === undefined ? responseText.call(this) : Promise.resolve(textOf(held));
    }),
    json: method(function (this: T) {
      const held = reads.take(this);
      if (held === undefined) return responseJson.call(this);
      const known = reads.parsed?.(this);
      return known === undefined ? parsed(textOf(held)) : Promise.resolve(known.value);
    }),
    arrayBuffer: method(function (this: T) {
      const held = reads.take(this);
      return held === undefined ? responseArrayBuffer.call(this) : Promise.resolve(bytesOf(held).buffer);
    }),
    blob: method(function (this: T) {
      // The blob's type comes from Content-Type; where only Response can say what it is, it reads.
      const type = reads.holds(this) ? blobTypeOf(this.headers.get("content-type")) : undefined;
      const held = type === undefined ? undefined : reads.take(this);
      return held === undefined ? responseBlob.call(this) : Promise.resolve(new Blob([held], { type }));
    }),
  });
  if (responseBytes !== undefined) {
    Object.defineProperty(
      prototype,
      "bytes",
      method(function (this: T) {
        const held = reads.take(this);
        return held === undefined ? responseBytes.call(this) : Promise.resolve(bytesOf(held));
      }),
    );
  }
}

/**
 * Deferring a body's stream. Node's `Response` keeps its state (status, header list, body) in an
 * object under a symbol of its own, and every method of `Response.prototype` reaches the body's
 * stream through that state's `body.stream` (and checks it before it reads the header list). A
 * response built without a body and given a body there whose stream is made when first read
 * behaves, to anything that looks, as one built over the body. Until then, the response's own
 * methods can read the held body directly.
 *
 * Whether this Node's `Response` works so is checked once, on a probe; where it does not,
 * {@link deferBody} is `undefined` and responses are built over their body as usual.
 */
type State = Record<PropertyKey, unknown>;

/** What a deferred body needs from its response, given the response. */
export interface DeferredBody<T extends Response> {
  /** The body as held. */
  held(response: T): string | Uint8Array;
  /** Whether the body was read from what is held already. */
  used(response: T): boolean;
  /** Called once, when the body's stream is made, before anything reads it. */
  materialised(response: T): void;
}

/** The body a `Response` keeps in its state: a stream made on first use, its source and its length. */
class HeldBody<T extends Response> {
  readonly #response: T;
  readonly #access: DeferredBody<T>;
  #stream: ReadableStream<Uint8Array> | undefined;
  #length: number | undefined;

  constructor(response: T, access: DeferredBody<T>) {
    this.#response = response;
    this.#access = access;
  }

  get source(): string | Uint8Array {
    return this.#access.held(this.#response);
  }

  get length(): number {
    const held = this.source;
    this.#length ??= typeof held === "string" ? Buffer.byteLength(held) : held.byteLength;
    return this.#length;
  }

  get stream(): ReadableStream<Uint8Array> {
    if (this.#stream === undefined) {
      this.#access.materialised(this.#response);
      this.#stream = streamOver(this.source, this.#access.used(this.#response));
    }
    return this.#stream;
  }

  set stream(stream: ReadableStream<Uint8Array>) {
    this.#stream = stream;
  }
}

/** Where a response built by `new Response()` keeps its state, if it is as expected. */
const stateKey: symbol | undefined = (() => {
  try {
    const probe = new Response(null);
    const key = Object.getOwnPropertySymbols(probe).find((symbol) => symbol.description === "state");
    if (key === undefined) return undefined;
    const state = (probe as unknown as Record<symbol, State>)[key];
    const body = Object.getOwnPropertyDescriptor(state, "body");
    // Without a body, the state has none, or a null one.
    if (body !== undefined && (body.writable !== true || body.value !== null)) return undefined;
    if (state === undefined || !("headersList" in state)) return undefined;
    // A deferred body is read through the state, as Response reads its own.
    let made = 0;
    (state as State).body = new HeldBody(probe, {
      held: () => "{}",
      used: () => false,
      materialised: () => made++,
    });
    const stream = Object.getOwnPropertyDescriptor(Response.prototype, "body")?.get?.call(probe);
    if (made !== 1 || !(stream instanceof ReadableStream) || probe.bodyUsed || probe.body !== stream) return undefined;
    return key;
  } catch {
    return undefined;
  }
})();

/** The stream of a response over `held`, made afresh: as Response leaves it after a read, if `used`. */
function streamOver(held: string | Uint8Array, used: boolean): ReadableStream<Uint8Array> {
  const response = new Response(used ? "" : held);
  // A body that was read: disturbed, locked and closed.
  if (used) void response.arrayBuffer();
  return response.body as ReadableStream<Uint8Array>;
}

/**
 * Defers the body of `response` (built with a `null` body) to `access.held(response)`;
 * `undefined` where this Node's `Response` does not allow it.
 */
export const deferBody: (<T extends Response>(response: T, access: DeferredBody<T>) => void) | undefined =
  stateKey === undefined
    ? undefined
    : (response, access) => {
        const state = (response as unknown as Record<symbol, State>)[stateKey];
        if (state === undefined) throw new TypeError("a response without the state of a Response");
        state.body = new HeldBody(response, access);
      };

/** A body that `Response` keeps in its state as a stream made when first read. */
class StreamOnDemand {
  readonly source = null;
  readonly length = null;
  readonly #make: () => ReadableStream<Uint8Array>;
  #stream: ReadableStream<Uint8Array> | undefined;

  constructor(make: () => ReadableStream<Uint8Array>) {
    this.#make = make;
  }

  get stream(): ReadableStream<Uint8Array> {
    return this.#stream ?? this.#make();
  }

  set stream(stream: ReadableStream<Uint8Array>) {
    this.#stream = stream;
  }
}

/**
 * Gives `response` (built with a `null` body) a body whose stream is `make()`, asked for each time
 * something reads the body until a `Response` method replaces it (`clone()` does); `undefined`
 * where this Node's `Response` does not allow it.
 */
export const deferStream: ((response: Response, make: () => ReadableStream<Uint8Array>) => void) | undefined =
  stateKey === undefined
    ? undefined
    : (response, make) => {
        const state = (response as unknown as Record<symbol, State>)[stateKey];
        if (state === undefined) throw new TypeError("a response without the state of a Response");
        state.body = new StreamOnDemand(make);
      };
