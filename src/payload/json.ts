import { PayloadHandlerError } from "../errors.js";
import { bytesToText, isBytes, readResponseText } from "./convert.js";
import type { PayloadHandler, PayloadInput } from "./handler.js";

/** A value that JSON can represent exactly. */
export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

const NAME = "JSONPayloadHandler";

/**
 * Stores payloads as JSON text and returns them parsed.
 *
 * Text, bytes and responses are taken as JSON text: they are checked to be JSON and stored exactly
 * as given, so a cached body is byte for byte the body the origin sent. Any other value is
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
    const text = await toTextOrUndefined(payload);
    if (text !== undefined) {
      parse(text);
      return text;
    }
    return stringify(payload);
  }

  async deserialize(payload: PayloadInput | T): Promise<T> {
    const text = await toTextOrUndefined(payload);
    if (text !== undefined) return parse(text) as T;
    // Already a value of the handler's type: check that it is JSON, then hand it back.
    stringify(payload);
    return payload as T;
  }
}

async function toTextOrUndefined(payload: unknown): Promise<string | undefined> {
  if (typeof payload === "string") return payload;
  if (isBytes(payload)) return bytesToText(payload, NAME);
  if (payload instanceof ArrayBuffer) return bytesToText(new Uint8Array(payload), NAME);
  if (payload instanceof Response) return readResponseText(payload, NAME);
  return undefined;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const preview = text.length > 60 ? `${text.slice(0, 60)}…` : text;
    throw new PayloadHandlerError(`${NAME} got text that is not JSON: ${JSON.stringify(preview)}`, { cause });
  }
}

function rejectNonJSON(this: unknown, key: string, value: unknown): unknown {
  const where = key === "" ? "the payload" : `property ${JSON.stringify(key)}`;
  switch (typeof value) {
    case "function":
    case "symbol":
    case "bigint":
      throw new PayloadHandlerError(`${NAME} cannot store ${where}: a ${typeof value} is not a JSON value`);
    case "number":
      if (!Number.isFinite(value)) {
        throw new PayloadHandlerError(`${NAME} cannot store ${where}: ${value} is not a JSON number`);
      }
      return value;
    case "undefined":
      if (key === "" || Array.isArray(this)) {
        throw new PayloadHandlerError(`${NAME} cannot store ${where}: undefined is not a JSON value`);
      }
      return value;
    default:
      return value;
  }
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value, rejectNonJSON);
  } catch (cause) {
    if (cause instanceof PayloadHandlerError) throw cause;
    // JSON.stringify throws a TypeError for cycles (and for BigInt inside toJSON results).
    throw new PayloadHandlerError(`${NAME} cannot store the payload: ${(cause as Error).message}`, { cause });
  }
}
