import { describeValue } from "../describe.js";
import { PayloadHandlerError } from "../errors.js";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** A plain Uint8Array view of bytes (a Buffer becomes a Uint8Array over the same memory). */
export function asUint8Array(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function bytesToText(bytes: Uint8Array, handler: string): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new PayloadHandlerError(`${handler} got bytes that are not valid UTF-8 text`, { cause });
  }
}

export function textToBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export async function readResponseText(response: Response, handler: string): Promise<string> {
  try {
    return await response.text();
  } catch (cause) {
    throw new PayloadHandlerError(`${handler} could not read the response body: ${String(cause)}`, { cause });
  }
}

export async function readResponseBytes(response: Response, handler: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (cause) {
    throw new PayloadHandlerError(`${handler} could not read the response body: ${String(cause)}`, { cause });
  }
}

export function unsupported(handler: string, action: string, value: unknown, expected: string): PayloadHandlerError {
  return new PayloadHandlerError(`${handler} cannot ${action} ${describeValue(value)}; expected ${expected}`);
}
