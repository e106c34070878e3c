import { redactUrl } from "../credentials.js";
import { RequestError } from "../errors.js";
import type { PayloadHandler, StoredPayload } from "../payload/handler.js";
import type { CachedRequestInit } from "../session/options.js";
import { isNullBodyStatus } from "../session/policy.js";
import type { Method, RequestOptions } from "./options.js";

/** Reads the value a request returns from a successful response. */
export type Reader<R> = (response: Response) => Promise<R>;

/** A failure to read a response body, told apart from a payload handler that refuses the body. */
export class BodyReadError extends Error {
  override name = "BodyReadError";
  constructor(cause: unknown) {
    super("could not read the response body", { cause });
  }
}

/**
 * The payload of a successful response: read as bytes (a failure to read is a network failure),
 * then deserialized by the handler's payload handler.
 */
export async function readPayload<T>(
  handler: PayloadHandler<T>,
  response: Response,
  method: Method,
  content: boolean,
): Promise<T | undefined> {
  if (method === "HEAD" || (isNullBodyStatus(response.status) && !content)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (cause) {
    throw new BodyReadError(cause);
  }
  return handler.deserialize(bytes);
}

/**
 * A stored payload decoded by the handler's own payload handler, whatever the repository's is: the
 * stored form is the text or bytes of the body, which every payload handler reads.
 */
export function decodeStored<T>(handler: PayloadHandler<T>, payload: StoredPayload): T | Promise<T> {
  return handler.deserializeSync !== undefined ? handler.deserializeSync(payload) : handler.deserialize(payload);
}

/** The value of a response that a status handler accepted; a body that fails to arrive is a `RequestError`. */
export async function readAccepted<R>(response: Response, read: Reader<R>, request: Request): Promise<R> {
  try {
    return await read(response);
  } catch (error) {
    if (!(error instanceof BodyReadError)) throw error;
    throw new RequestError(`${request.method} ${redactUrl(request.url)} failed: ${messageOf(error.cause)}`, {
      request,
      cause: error.cause,
    });
  }
}

/** The init to send, with the method set and a JSON body written out; the headers come per send. */
export function toFetchInit(method: Method, options: RequestOptions | undefined): CachedRequestInit {
  if (options === undefined) return { method };
  const { json, headers: _headers, ...init } = options;
  if (json !== undefined) {
    if (init.body !== undefined && init.body !== null) throw new TypeError("give a request json or a body, not both");
    init.body = JSON.stringify(json);
  }
  return { ...init, method };
}

/**
 * Why a request body cannot be sent a second time, or `undefined` when it can: a web
 * `ReadableStream`, a Node `Readable` or any async iterable is consumed by the first send. Strings,
 * bytes, `Blob`, `FormData` and `URLSearchParams` can be sent again.
 */
export function unreplayable(body: unknown): string | undefined {
  if (body === null || typeof body !== "object") return undefined;
  if (body instanceof ReadableStream) return "its body is a ReadableStream, which the first send consumed";
  if (typeof (body as { pipe?: unknown }).pipe === "function") {
    return "its body is a Node stream, which the first send consumed";
  }
  if (Symbol.asyncIterator in body) return "its body is an async iterable, which the first send consumed";
  return undefined;
}

/** A failure for a message: its own message, and its cause's. */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}
