import { asUint8Array, isBytes, readResponseBytes, textToBytes, unsupported } from "./convert.js";
import type { PayloadHandler, PayloadInput, StoredPayload } from "./handler.js";

const NAME = "BytesPayloadHandler";
const EXPECTED = "bytes (Uint8Array or ArrayBuffer), a string or a Response";

/** Stores and returns payloads as raw bytes (`Uint8Array`); text is encoded as UTF-8. */
export class BytesPayloadHandler implements PayloadHandler<Uint8Array> {
  async serialize(payload: PayloadInput): Promise<Uint8Array> {
    return payload instanceof Response ? readResponseBytes(payload, NAME) : toBytes(payload, "serialize");
  }

  async deserialize(payload: PayloadInput): Promise<Uint8Array> {
    return payload instanceof Response ? readResponseBytes(payload, NAME) : toBytes(payload, "deserialize");
  }

  serializeSync(payload: StoredPayload | ArrayBuffer): Uint8Array {
    return toBytes(payload, "serialize");
  }

  deserializeSync(payload: StoredPayload): Uint8Array {
    return toBytes(payload, "deserialize");
  }
}

function toBytes(payload: unknown, action: string): Uint8Array {
  if (isBytes(payload) || payload instanceof ArrayBuffer) return asUint8Array(payload);
  if (typeof payload === "string") return textToBytes(payload);
  throw unsupported(NAME, action, payload, EXPECTED);
}
