import { PayloadHandlerError } from "../errors.js";
import { bytesToText, isBytes, readResponseText, unsupported } from "./convert.js";
import type { PayloadHandler, PayloadInput, StoredPayload } from "./handler.js";

/** A value that JSON can represent exactly. */
export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

const NAME = "JSONPayloadHandler";

/**
 * Stores payloads as JSON text and returns them parsed.
 *
 * Text, bytes and responses are taken as JSON text: they are checked to be JSON and stored exactly
 * as given, so a cached body is byte for byte the body the origin sent (a leading UTF-8 byte-order
 * mark included, which parsing skips, as `Response.json()` does). Any other value is
 * converted with `JSON.stringify`, and refused when JSON cannot represent it (a function, a symbol,
 * a BigInt, a non-finite number, a cycle). As with `JSON.stringify`, object properties whose value is
 * `undefined` are left out.
 *
 * @example
 * const handler = new JSONPayloadHandler();
 * await handler.serialize({ id: 1 }); // '{"id":1}'
 * await handler.deserialize('{"id":1}'); // { id: 1 }
 */
export class JSONPayloadHandler<T = JSONValue> implements PayloadHandler<T> {
  async serialize(payload: PayloadInput | T): Promise<string> {
    if (!(payload instanceof Response)) return this.serializeSync(payload);
    const text = await readResponseText(payload, NAME);
    parse(text);
    return text;
  }

  async deserialize(payload: PayloadInput | T): Promise<T> {
    if (payload instanceof Response) return parse(await readResponseText(payload, NAME)) as T;
    const text = textOf(payload);
    if (text !== undefined) return parse(text) as T;
    // Already a value of the handler's type: check that it is JSON, then hand it back.
    stringify(payload);
    return payload as T;
  }

  serializeSync(payload: StoredPayload | ArrayBuffer | T): string {
    const text = textOf(payload);
    if (text === undefined) return stringify(payload);
    const value = parse(text);
    if (isBytes(payload)) checked.set(payload, value);
    return text;
  }

  deserializeSync(payload: StoredPayload): T {
    const text = textOf(payload);
    if (text === undefined) throw unsupported(NAME, "deserialize", payload, "JSON text or its UTF-8 bytes");
    return parse(text) as T;
  }
}

/**
 * The values of bytes that `serializeSync` checked, by the bytes, each for one reader to take
 * instead of parsing the same bytes again (a session stores a miss, then its caller reads `json()`).
 * An entry lives no longer than its bytes.
 */
const checked = new WeakMap<Uint8Array, unknown>();

/**
 * The JSON value of `bytes` if a `JSONPayloadHandler` checked these very bytes (the same array)
 * and no one took it yet: what `Response.json()` gives for them, a value no one else holds.
 */
export function takeCheckedJson(bytes: Uint8Array): { value: unknown } | undefined {
  if (!checked.has(bytes)) return undefined;
  const value = checked.get(bytes);
  checked.delete(bytes);
  return { value };
}

/** The JSON text of text or bytes; `undefined` for a value of the handler's own type. */
function textOf(payload: unknown): string | undefined {
  if (typeof payload === "string") return payload;
  if (isBytes(payload)) return bytesToText(payload, NAME);
  if (payload instanceof ArrayBuffer) return bytesToText(new Uint8Array(payload), NAME);
  return undefined;
}

/**
 * Parses JSON text. One leading byte-order mark is skipped, as `Response.json()` skips it (the
 * Encoding standard's UTF-8 decode); the stored text keeps it, as the origin sent it.
 */
function parse(text: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (cause) {
    const preview = text.length > 60 ? `${text.slice(0, 60)}…` : text;
    throw new PayloadHandlerError(`${NAME} got text that is not JSON: ${JSON.stringify(preview)}`, { cause });
  }
}

/**
 * Finds what `JSON.stringify` would drop or change without a word: functions, symbols and
 * `undefined` in arrays or at the top, and non-finite numbers. Objects with `toJSON` are left to it.
 * `ancestors` holds the objects on the path to `value`, to report a cycle instead of following it.
 */
function findNonJSON(value: unknown, where: string, inArray: boolean, ancestors: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${where}: ${value} is not a JSON number`;
    case "function":
    case "symbol":
    case "bigint":
      return `${where}: a ${typeof value} is not a JSON value`;
    case "undefined":
      return inArray || where === "the payload" ? `${where}: undefined is not a JSON value` : undefined;
    case "object": {
      if (value === null || typeof (value as { toJSON?: unknown }).toJSON === "function") return undefined;
      if (ancestors.has(value)) return `${where}: it refers back to itself (a cycle)`;
      ancestors.add(value);
      let found: string | undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && found === undefined; i++) {
          found = findNonJSON(value[i], `item ${i}`, true, ancestors);
        }
      } else {
        for (const key in value) {
          if (!Object.hasOwn(value, key)) continue;
          found = findNonJSON(
            (value as Record<string, unknown>)[key],
            `property ${JSON.stringify(key)}`,
            false,
            ancestors,
          );
          if (found !== undefined) break;
        }
      }
      ancestors.delete(value);
      return found;
    }
    default:
      return `${where}: a ${typeof value} is not a JSON value`;
  }
}

function stringify(value: unknown): string {
  const problem = findNonJSON(value, "the payload", false, new Set());
  if (problem !== undefined) throw new PayloadHandlerError(`${NAME} cannot store ${problem}`);
  try {
    return JSON.stringify(value);
  } catch (cause) {
    // What a toJSON method returned may still hold a cycle or a BigInt.
    throw new PayloadHandlerError(`${NAME} cannot store the payload: ${(cause as Error).message}`, { cause });
  }
}
