export { BytesPayloadHandler } from "./bytes.js";
export type { PayloadHandler, PayloadInput, StoredPayload } from "./handler.js";
export { JSONPayloadHandler, type JSONValue } from "./json.js";
export { StringPayloadHandler } from "./string.js";
