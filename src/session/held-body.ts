/**
 * `text()` and `json()` for responses whose body is held in memory already (a stored payload, or
 * bytes the session read): they take it as it is, instead of encoding it into the body's stream and
 * decoding it back, and give exactly what `Response`'s own methods would.
 */

const responseText = Response.prototype.text;
const responseJson = Response.prototype.json;
/** Decodes as `Response.text()` does: UTF-8, a byte order mark dropped, invalid bytes replaced. */
const decoder = new TextDecoder();

/**
 * The body as text, taken from `held` without reading the stream, or `undefined` when the stream
 * must be used: there is none, or it was read or locked already. Taking it makes the body used, as
 * reading it would.
 */
function takeText(response: Response, held: string | Uint8Array | undefined): string | undefined {
  if (held === undefined) return undefined;
  const body = response.body;
  if (body === null || body.locked || response.bodyUsed) return undefined;
  body
    .getReader()
    .cancel()
    .catch(() => {});
  if (typeof held !== "string") return decoder.decode(held);
  // What encoding the text as UTF-8 and decoding it again gives: lone surrogates replaced, no BOM.
  const text = (held as string & { toWellFormed(): string }).toWellFormed();
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Defines `text()` and `json()` on a Response subclass, taking the body from `held(response)` when it can. */
export function readHeldBody<T extends Response>(
  prototype: T,
  held: (response: T) => string | Uint8Array | undefined,
): void {
  Object.defineProperties(prototype, {
    text: {
      configurable: true,
      writable: true,
      value(this: T): Promise<string> {
        const text = takeText(this, held(this));
        return text === undefined ? responseText.call(this) : Promise.resolve(text);
      },
    },
    json: {
      configurable: true,
      writable: true,
      value(this: T): Promise<unknown> {
        const text = takeText(this, held(this));
        if (text === undefined) return responseJson.call(this);
        try {
          return Promise.resolve(JSON.parse(text));
        } catch (error) {
          return Promise.reject(error);
        }
      },
    },
  });
}
