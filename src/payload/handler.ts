/** What a repository stores for a payload: text or bytes. */
export type StoredPayload = string | Uint8Array;

/** What every payload handler takes besides values of its own type: text, bytes, or a fetch `Response`. */
export type PayloadInput = string | Uint8Array | ArrayBuffer | Response;

/**
 * Converts response payloads to and from the form a repository stores.
 *
 * `serialize` turns a payload (its text, its bytes, the fetch `Response` it came in, or a value of
 * the handler's own type) into the text or bytes to store. `deserialize` turns any of those into a
 * value of the handler's type. Both reject input they cannot handle with a `PayloadHandlerError`.
 *
 * @example
 * const handler = new JSONPayloadHandler();
 * const stored = await handler.serialize(await fetch(url)); // the response text, checked to be JSON
 * const value = await handler.deserialize(stored); // the parsed JSON value
 */
export interface PayloadHandler<T> {
  serialize(payload: PayloadInput | T): Promise<StoredPayload>;
  deserialize(payload: PayloadInput | T): Promise<T>;
  /**
   * The same as `serialize` for anything but a `Response`, without waiting. Optional: a handler that
   * has it saves repositories a turn of the event loop per entry written.
   */
  serializeSync?(payload: StoredPayload | ArrayBuffer | T): StoredPayload;
  /**
   * The same as `deserialize` for a stored payload, without waiting. Optional: a handler that has it
   * saves repositories a turn of the event loop per entry read.
   */
  deserializeSync?(payload: StoredPayload): T;
}
