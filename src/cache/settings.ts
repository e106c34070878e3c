import { describeValue } from "../describe.js";
import type { PayloadHandler } from "../payload/handler.js";
import { StringPayloadHandler } from "../payload/string.js";
import type { KeyPart, KeyRequest } from "../types.js";

/** What `getKey` returns: one value per field, where `null` or `undefined` means "do not cache this request". */
export type KeyParts = readonly (KeyPart | null | undefined)[];

/** Options shared by both forms of settings. */
export interface SettingsOptions<V> {
  /**
   * The repository's name in the backend (a table, a key prefix).
   * @example "tracks"
   */
  name: string;
  /**
   * Converts payloads to and from the stored form.
   * @default new StringPayloadHandler()
   * @example new JSONPayloadHandler<Track>()
   */
  payloadHandler?: PayloadHandler<V>;
  /**
   * The request methods whose responses the repository caches; a request with another method gets
   * no key, whatever `getKey` returns. A `HEAD` request is answered from the entry of the same `GET`.
   * @default ["GET", "HEAD"]
   * @example { methods: ["GET", "HEAD", "POST"] } // a search API that takes its query in a POST body
   */
  methods?: readonly string[];
  /**
   * Whether the responses are the same for every caller, whatever credentials the request carries
   * (public catalogue data behind a rotating OAuth token). Then a credentialed request shares the
   * entries of every other caller, and they survive a token refresh. Otherwise a credentialed request
   * is answered only from entries stored for the same credentials (see the session's `credentials`).
   * Credentials are never stored either way.
   * @default false
   * @example { public: true }
   */
  public?: boolean;
}

/** The methods that a repository caches unless its settings say otherwise. */
export const DEFAULT_METHODS: readonly string[] = Object.freeze(["GET", "HEAD"]);

/**
 * Settings for one kind of response: where it is stored, how it is keyed and how it is named.
 *
 * Subclass it, or use {@link defineSettings} to give the same as a plain object.
 *
 * @example
 * class TrackSettings extends ResponseRepositorySettings<JSONValue> {
 *   readonly fields = ["id", "version"] as const;
 *   getKey({ method, url }: KeyRequest) {
 *     if (method !== "GET") return [null, null]; // only GET responses are cached
 *     const [version, , id] = url.pathname.split("/").slice(1);
 *     return [id, version];
 *   }
 *   getName(payload: JSONValue) {
 *     return (payload as { name?: string }).name;
 *   }
 * }
 * const settings = new TrackSettings({ name: "tracks", payloadHandler: new JSONPayloadHandler() });
 */
export abstract class ResponseRepositorySettings<V = string> {
  /** The repository's name in the backend. */
  readonly name: string;
  /** Converts payloads to and from the stored form. A request handler replaces it with its own. */
  payloadHandler: PayloadHandler<V>;
  /** The request methods whose responses are cached, upper case. */
  readonly methods: ReadonlySet<string>;
  /** Whether the responses are the same for every caller, whatever their credentials. */
  readonly public: boolean;

  /** The names of the values that `getKey` returns, in the same order. */
  abstract readonly fields: readonly string[];

  constructor(options: SettingsOptions<V>) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`settings must be an object with a name, got ${describeValue(options)}`);
    }
    if (typeof options.name !== "string" || options.name.length === 0) {
      throw new TypeError(`settings.name must be a non-empty string, got ${describeValue(options.name)}`);
    }
    this.name = options.name;
    this.payloadHandler = options.payloadHandler ?? (new StringPayloadHandler() as unknown as PayloadHandler<V>);
    this.methods = checkMethods(options.name, options.methods ?? DEFAULT_METHODS);
    if (options.public !== undefined && typeof options.public !== "boolean") {
      throw new TypeError(`settings.public must be true or false, got ${describeValue(options.public)}`);
    }
    this.public = options.public ?? false;
  }

  /**
   * Pulls the key out of a request: one value per field. Return `null` or `undefined` for any part to
   * leave the request uncached (a method you do not cache, a URL of another shape).
   */
  abstract getKey(request: KeyRequest): KeyParts;

  /** A human-readable name for a payload, stored beside it. The default stores none. */
  getName(_payload: V): string | null | undefined {
    return undefined;
  }

  /** Whether this class (or object) has its own `getName`, so that a payload must be read to name it. */
  get namesPayloads(): boolean {
    return this.getName !== ResponseRepositorySettings.prototype.getName;
  }
}

/** The plain-object form of settings. */
export interface SettingsDefinition<V> extends SettingsOptions<V> {
  /**
   * The fields that make the key, after the method: one key column each.
   * @example ["id", "version"]
   */
  fields: readonly string[];
  /**
   * Pulls the key out of a request: one value per field. Return `null` or `undefined` for any part
   * to leave the request uncached.
   * @example ({ url }) => [url.searchParams.get("id")]
   */
  getKey(request: KeyRequest): KeyParts;
  /**
   * A human-readable name for a payload, stored beside it.
   * @default undefined (no name is stored)
   * @example (track: Track) => track.name
   */
  getName?(payload: V): string | null | undefined;
}

class DefinedSettings<V> extends ResponseRepositorySettings<V> {
  readonly fields: readonly string[];
  readonly #definition: SettingsDefinition<V>;

  constructor(definition: SettingsDefinition<V>) {
    super(definition);
    if (!Array.isArray(definition.fields)) {
      throw new TypeError(`settings.fields must be an array of field names, got ${describeValue(definition.fields)}`);
    }
    if (typeof definition.getKey !== "function") {
      throw new TypeError(`settings.getKey must be a function, got ${describeValue(definition.getKey)}`);
    }
    if (definition.getName !== undefined && typeof definition.getName !== "function") {
      throw new TypeError(`settings.getName must be a function, got ${describeValue(definition.getName)}`);
    }
    this.fields = Object.freeze([...definition.fields]);
    this.#definition = definition;
    if (definition.getName) {
      const getName = definition.getName;
      this.getName = (payload: V) => getName.call(definition, payload);
    }
  }

  getKey(request: KeyRequest): KeyParts {
    return this.#definition.getKey(request);
  }
}

/**
 * Settings from a plain object, for when a subclass is more than you need.
 *
 * @example
 * const tracks = defineSettings({
 *   name: "tracks",
 *   fields: ["id"],
 *   getKey: ({ method, url }) => [method === "GET" ? url.pathname.split("/")[2] : null],
 *   getName: (payload) => payload.name,
 *   payloadHandler: new JSONPayloadHandler<{ name: string }>(),
 * });
 */
export function defineSettings<V = string>(definition: SettingsDefinition<V>): ResponseRepositorySettings<V> {
  return new DefinedSettings(definition);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkMethods(name: string, methods: unknown): ReadonlySet<string> {
  if (!Array.isArray(methods) || methods.length === 0) {
    throw new TypeError(
      `settings "${name}".methods must be a non-empty array of method names, got ${describeValue(methods)}`,
    );
  }
  const set = new Set<string>();
  for (const method of methods) {
    if (typeof method !== "string" || !TOKEN.test(method)) {
      throw new TypeError(`settings "${name}".methods holds ${describeValue(method)}, not an HTTP method name`);
    }
    set.add(method.toUpperCase());
  }
  return set;
}
