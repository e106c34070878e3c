import { bytesToText, isBytes, readResponseText, unsupported } from "./convert.js";
import type { PayloadHandler, PayloadInput } from "./handler.js";

const NAME = "StringPayloadHandler";
const EXPECTED = "a string, bytes (Uint8Array or ArrayBuffer) or a Response";

/** Stores and returns payloads as text. Bytes must be UTF-8. The default handler of every repository. */
export class StringPayloadHandler implements PayloadHandler<string> {
  serialize(payload: PayloadInput): Promise<string> {
    return this.#toText(payload, "serialize");
  }

  deserialize(payload: PayloadInput): Promise<string> {
    return this.#toText(payload, "deserialize");
  }

  async #toText(payload: unknown, action: string): Promise<string> {
    if (typeof payload === "string") return payload;
    if (isBytes(payload)) return bytesToText(payload, NAME);
    if (payload instanceof ArrayBuffer) return bytesToText(new Uint8Array(payload), NAME);
    if (payload instanceof Response) return readResponseText(payload, NAME);
    throw unsupported(NAME, action, payload, EXPECTED);
  }
}
