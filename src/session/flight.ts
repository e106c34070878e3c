import type { ResponseHead } from "../cache/repository.js";
import { NetworkResponse } from "./network-response.js";
import { headersToStore, isNullBodyStatus } from "./policy.js";

/** A network response read in full, from which every caller gets a response of its own. */
export class Shared {
  readonly bytes: Uint8Array;
  /** The status, the headers to store (without those of the connection and Set-Cookie) and the URL. */
  readonly head: ResponseHead & { headers: [string, string][] };
  readonly #statusText: string;
  readonly #cookies: string[];
  readonly #redirected: boolean;
  readonly #nullBody: boolean;

  /** `kept`: the header fields to store, when they were read already. */
  constructor(response: Response, bytes: Uint8Array, requestUrl: string, kept?: [string, string][]) {
    this.bytes = bytes;
    // A fetch other than Node's may return Headers without getSetCookie.
    const cookies = typeof response.headers.getSetCookie === "function" ? response.headers.getSetCookie() : [];
    const headers = kept ?? headersToStore(response.headers);
    this.head = {
      status: response.status,
      headers: decodedHeaders(headers, bytes.byteLength),
      url: response.url || requestUrl,
    };
    this.#statusText = response.statusText;
    this.#cookies = cookies;
    this.#redirected = response.redirected;
    this.#nullBody = response.body === null || isNullBodyStatus(response.status);
  }

  /** A response for a caller; the one who made the request also gets the cookies it set. */
  response(withCookies: boolean): NetworkResponse {
    const { status, url } = this.head;
    let headers = this.head.headers;
    if (withCookies && this.#cookies.length > 0) {
      headers = [...headers, ...this.#cookies.map((cookie): [string, string] => ["set-cookie", cookie])];
    }
    const body = this.#nullBody ? null : this.bytes;
    return new NetworkResponse(body, { status, statusText: this.#statusText, headers }, url, this.#redirected);
  }
}

/** Content codings that fetch removes from a body as it reads it (Fetch standard, HTTP-network fetch). */
const DECODED_CODINGS: ReadonlySet<string> = new Set(["gzip", "x-gzip", "deflate", "br"]);

/**
 * Header fields that describe the body as it was read: fetch hands over a gzip, deflate or br body
 * decoded, so `Content-Encoding` no longer applies and `Content-Length` (the encoded length) is
 * replaced by the length of the bytes read. A coding that fetch leaves alone is kept as it is.
 */
function decodedHeaders(headers: [string, string][], length: number): [string, string][] {
  const encoding = headers.find(([name]) => name === "content-encoding")?.[1];
  if (encoding === undefined) return headers;
  const codings = encoding.split(",").map((coding) => coding.trim().toLowerCase());
  if (!codings.every((coding) => coding === "" || DECODED_CODINGS.has(coding))) return headers;
  const kept = headers.filter(([name]) => name !== "content-encoding" && name !== "content-length");
  kept.push(["content-length", String(length)]);
  return kept;
}

/**
 * The status and headers of a network response as the session hands it to its caller while the
 * body streams: the origin's fields but those of the connection (`kept`, when they were read
 * already), and its cookies.
 */
export function callerInit(response: Response, kept?: [string, string][]): ResponseInit {
  const cookies = typeof response.headers.getSetCookie === "function" ? response.headers.getSetCookie() : [];
  // `kept` may be shared (with the stored copy): the cookies go on a copy of it.
  let headers = kept ?? headersToStore(response.headers);
  if (cookies.length > 0) headers = [...headers, ...cookies.map((cookie): [string, string] => ["set-cookie", cookie])];
  return { status: response.status, statusText: response.statusText, headers };
}

/** One network request in flight, that identical requests wait for. */
export class Flight {
  waiters = 0;
  /** Settles once the body of the response is recorded (and stored): until then, the flight stays. */
  recording: Promise<void> | undefined;
  readonly promise: Promise<Shared | undefined>;
  #resolve: ((shared: Shared | undefined) => void) | undefined;

  constructor() {
    this.promise = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Hands the waiters the shared response, or `undefined` to send them to the network themselves. */
  settle(shared: Shared | undefined): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.(shared);
  }
}

export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}
