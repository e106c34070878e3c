/** One part of a cache key: a value pulled out of a request. Strings and numbers stay distinct: `1` is not `"1"`. */
export type KeyPart = string | number;

/** A cache key: the request method (upper case) followed by one value per field of the repository's settings. */
export type Key = readonly [method: string, ...parts: KeyPart[]];

/** A request as the settings see it when they pull a key out of it. */
export interface KeyRequest {
  /** The method, upper case. */
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  /**
   * A digest of the request body, when the session keys the body of this method (a search or
   * GraphQL API that takes its query in a POST body); absent otherwise.
   */
  readonly bodyDigest?: string | undefined;
  /**
   * The credential partition of the request: a keyed digest of the credentials it carries, or
   * absent when it carries none or its repository's responses are public.
   */
  readonly partition?: string | undefined;
}

/** Anything the `Headers` constructor takes. */
export type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** A request given without a fetch `Request`: a method, a URL and optional headers. */
export interface RequestDescriptor {
  method: string;
  url: string | URL;
  headers?: HeadersInit;
}

/** Anything a cache can take as a request: a fetch `Request`, or a plain descriptor. */
export type CacheRequest = Request | RequestDescriptor;

/** A request and the response it got: the unit that a cache saves. */
export interface Exchange {
  request: CacheRequest;
  response: Response;
}
