import { describeValue } from "../describe.js";
import { type Expire, validateExpire } from "../duration.js";
import { CacheError } from "../errors.js";
import { BytesPayloadHandler } from "../payload/bytes.js";
import type { PayloadHandler } from "../payload/handler.js";
import { JSONPayloadHandler } from "../payload/json.js";
import { StringPayloadHandler } from "../payload/string.js";
import type { KeyRequest } from "../types.js";
import type { ResponseRepository } from "./repository.js";
import { type KeyParts, ResponseRepositorySettings } from "./settings.js";

/** The payload handlers a record can name; `custom` is any other, which only its application can load. */
export type PayloadKind = "string" | "bytes" | "json" | "custom";

/**
 * What a store records about each of its repositories when the repository is created in it, so
 * that a program that did not create the cache (the command line) can open the repository.
 */
export interface RepositoryRecord {
  /** The repository's name. */
  name: string;
  /** The names of its key fields, after the method. */
  fields: string[];
  /** The kind of its payload handler. */
  payload: PayloadKind;
  /** The class name of its payload handler, for messages. */
  handler: string;
  /** How long its entries stay live. */
  expire: Expire;
  /** The freshness rule it follows, when it sets one. */
  policy: string | null;
}

const KINDS: ReadonlySet<string> = new Set(["string", "bytes", "json", "custom"]);

/** The record of a repository, as its store keeps it. */
export function recordOf(repository: ResponseRepository): RepositoryRecord {
  const settings = repository.settings;
  if (settings instanceof RecordedSettings) return { ...settings.record, expire: repository.expire };
  const handler = settings.payloadHandler;
  const policy = (repository as unknown as { policy?: unknown }).policy;
  return {
    name: repository.name,
    fields: [...settings.fields],
    payload: kindOf(handler),
    handler: (handler as object).constructor?.name ?? "unknown",
    expire: repository.expire,
    policy: typeof policy === "string" ? policy : null,
  };
}

function kindOf(handler: PayloadHandler<unknown>): PayloadKind {
  // The exact classes only: a subclass may store payloads in a form of its own.
  const type = (handler as object).constructor;
  if (type === StringPayloadHandler) return "string";
  if (type === BytesPayloadHandler) return "bytes";
  if (type === JSONPayloadHandler) return "json";
  return "custom";
}

/** Reads a record from its stored JSON text; a record that is not one is a `CacheError`. */
export function parseRecord(text: string, where: string): RepositoryRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CacheError(`${where} holds a repository record that is not JSON: ${describeValue(text)}`, { cause });
  }
  return checkRecord(value, where);
}

/** Checks a record read from a store or an export file. */
export function checkRecord(value: unknown, where: string): RepositoryRecord {
  const record = value as Partial<RepositoryRecord> | null;
  const fail = (what: string) =>
    new CacheError(`${where} holds a repository record whose ${what}; got ${describeValue(value)}`);
  if (typeof record !== "object" || record === null) throw fail("value is not an object");
  if (typeof record.name !== "string" || record.name.length === 0) throw fail("name is not a non-empty string");
  if (!Array.isArray(record.fields) || !record.fields.every((field) => typeof field === "string")) {
    throw fail("fields are not an array of names");
  }
  if (typeof record.payload !== "string" || !KINDS.has(record.payload)) {
    throw fail("payload is not one of string, bytes, json, custom");
  }
  let expire: Expire;
  try {
    expire = validateExpire(record.expire);
  } catch {
    throw fail("expire is not milliseconds or a duration");
  }
  return {
    name: record.name,
    fields: [...record.fields],
    payload: record.payload,
    handler: typeof record.handler === "string" ? record.handler : record.payload,
    expire,
    policy: typeof record.policy === "string" ? record.policy : null,
  };
}

/**
 * Settings rebuilt from a record: the fields and the payload handler it names (a `custom` handler is
 * read as bytes). They take keys only; a request cannot be keyed without the application's settings.
 */
export class RecordedSettings extends ResponseRepositorySettings<unknown> {
  readonly fields: readonly string[];
  readonly record: RepositoryRecord;

  constructor(record: RepositoryRecord) {
    super({ name: record.name, payloadHandler: handlerFor(record.payload) as PayloadHandler<unknown> });
    this.record = record;
    this.fields = Object.freeze([...record.fields]);
  }

  getKey(request: KeyRequest): KeyParts {
    throw new CacheError(
      `repository "${this.name}" was opened from its record in the store, which cannot key a request ` +
        `(${request.method} ${request.url.origin}${request.url.pathname}); give keys, or open it with its settings`,
    );
  }
}

/** The payload handler for a recorded kind. */
export function handlerFor(kind: PayloadKind): PayloadHandler<unknown> {
  switch (kind) {
    case "string":
      return new StringPayloadHandler();
    case "json":
      return new JSONPayloadHandler();
    case "bytes":
    case "custom":
      return new BytesPayloadHandler();
    default: {
      const never: never = kind;
      throw new CacheError(`unknown payload kind ${String(never)}`);
    }
  }
}
