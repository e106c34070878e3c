import { bytesToText, isBytes, readResponseText, unsupported } from "./convert.js";
import type { PayloadHandler, PayloadInput, StoredPayload } from "./handler.js";

const NAME = "StringPayloadHandler";
const EXPECTED = "a string, bytes (Uint8Array or ArrayBuffer) or a Response";

/** Stores and returns payloads as text. Bytes must be UTF-8. The default handler of every repository. */
export class StringPayloadHandler implements PayloadHandler<string> {
  async serialize(payload: PayloadInput): Promise<string> {
    return payload instanceof Response ? readResponseText(payload, NAME) : toText(payload, "serialize");
  }

  async deserialize(payload: PayloadInput): Promise<string> {
    return payload instanceof Response ? readResponseText(payload, NAME) : toText(payload, "deserialize");
  }

  serializeSync(payload: StoredPayload | ArrayBuffer): string {
    return toText(payload, "serialize");
  }

  deserializeSync(payload: StoredPayload): string {
    return toText(payload, "deserialize");
  }
}

function toText(payload: unknown, action: string): string {
  if (typeof payload === "string") return payload;
  if (isBytes(payload)) return bytesToText(payload, NAME);
  if (payload instanceof ArrayBuffer) return bytesToText(new Uint8Array(payload), NAME);
  throw unsupported(NAME, action, payload, EXPECTED);
}
