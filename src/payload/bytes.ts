import { asUint8Array, isBytes, readResponseBytes, textToBytes, unsupported } from "./convert.js";
import type { PayloadHandler, PayloadInput } from "./handler.js";

const NAME = "BytesPayloadHandler";
const EXPECTED = "bytes (Uint8Array or ArrayBuffer), a string or a Response";

/** Stores and returns payloads as raw bytes (`Uint8Array`); text is encoded as UTF-8. */
export class BytesPayloadHandler implements PayloadHandler<Uint8Array> {
  serialize(payload: PayloadInput): Promise<Uint8Array> {
    return this.#toBytes(payload, "serialize");
  }

  deserialize(payload: PayloadInput): Promise<Uint8Array> {
    return this.#toBytes(payload, "deserialize");
  }

  async #toBytes(payload: unknown, action: string): Promise<Uint8Array> {
    if (isBytes(payload) || payload instanceof ArrayBuffer) return asUint8Array(payload);
    if (typeof payload === "string") return textToBytes(payload);
    if (payload instanceof Response) return readResponseBytes(payload, NAME);
    throw unsupported(NAME, action, payload, EXPECTED);
  }
}
