import { describeValue } from "../describe.js";
import { BytesPayloadHandler } from "../payload/bytes.js";
import type { KeyRequest } from "../types.js";
import { DEFAULT_METHODS, type KeyParts, ResponseRepositorySettings } from "./settings.js";
import { normalizeUrl } from "./url.js";

/** The name of the repository that catches every request no other repository claims. */
export const HTTP_REPOSITORY = "http";

/** Options of the default HTTP repository's settings. */
export interface HttpSettingsOptions {
  /**
   * The repository's name in the backend.
   * @default "http"
   * @example { name: "responses" }
   */
  name?: string;
  /**
   * Request headers whose values are part of the key, beside the method and the URL (names are
   * matched without regard to case). Vary is honoured anyway; name a header here when the origin
   * varies on it without saying so.
   * @default []
   * @example { matchHeaders: ["Accept", "Accept-Language"] }
   */
  matchHeaders?: readonly string[];
  /**
   * The methods that are cached. A method other than GET and HEAD has a digest of its body in its
   * key (a search or GraphQL API that takes its query in a POST body).
   * @default ["GET", "HEAD"]
   * @example { methods: ["GET", "HEAD", "POST"] }
   */
  methods?: readonly string[];
  /**
   * Query parameters left out of the key because they carry credentials (lower case); the session
   * keys the credentials apart by a partition instead.
   * @default none
   * @example { dropParams: ["api_key"] }
   */
  dropParams?: Iterable<string>;
}

const FIELDS = Object.freeze(["resource", "variant", "partition"] as const);

/**
 * The settings of the default HTTP repository: the key is the method, the normalised URL (see
 * {@link normalizeUrl}), the values of `matchHeaders` and, for methods other than GET and HEAD, a
 * digest of the body, and the credential partition. Bodies are stored as bytes, exactly as
 * they came (after content decoding).
 *
 * @example
 * cache.createRepository(new HttpRepositorySettings({ matchHeaders: ["Accept"] }), { policy: "http" });
 */
export class HttpRepositorySettings extends ResponseRepositorySettings<Uint8Array> {
  readonly fields = FIELDS;
  /** The request headers whose values are part of the key, lower case. */
  readonly matchHeaders: readonly string[];
  readonly #drop: ReadonlySet<string>;

  constructor(options: HttpSettingsOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`HttpRepositorySettings takes an options object, got ${describeValue(options)}`);
    }
    super({
      name: options.name ?? HTTP_REPOSITORY,
      payloadHandler: new BytesPayloadHandler(),
      methods: options.methods ?? DEFAULT_METHODS,
    });
    const matchHeaders = options.matchHeaders ?? [];
    if (!Array.isArray(matchHeaders) || matchHeaders.some((name) => typeof name !== "string" || name === "")) {
      throw new TypeError(`matchHeaders must be an array of header names, got ${describeValue(matchHeaders)}`);
    }
    this.matchHeaders = Object.freeze([...new Set(matchHeaders.map((name) => name.toLowerCase()))].sort());
    this.#drop = new Set(Array.from(options.dropParams ?? [], (name) => name.toLowerCase()));
  }

  getKey(request: KeyRequest): KeyParts {
    const url = normalizeUrl(request.url, this.#drop);
    let match = "";
    if (this.matchHeaders.length > 0) {
      const headers = request.headers;
      match = JSON.stringify(this.matchHeaders.map((name) => headers.get(name)));
    }
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") match += `#body:${request.bodyDigest ?? ""}`;
    return [url, match, request.partition ?? ""];
  }
}
