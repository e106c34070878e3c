/** Reading a network response body once, into bytes, without holding more than a limit. */

/** A body read in full, or the reason it was not, with a stream that still gives the caller all of it. */
export type BodyRead =
  | { readonly complete: true; readonly bytes: Uint8Array }
  | {
      readonly complete: false;
      /** `too-large`: the body passed the limit; `failed`: the body failed part way, as it will for the caller. */
      readonly reason: "too-large" | "failed";
      /** The chunks read so far, then the rest of the body (or its failure). */
      readonly stream: ReadableStream<Uint8Array>;
    };

const EMPTY = new Uint8Array(0);

/**
 * Reads `body` to its end as long as it stays within `limit` bytes. Past the limit, or when the body
 * fails, the bytes read so far are not lost: the result's stream gives them first, then the rest of
 * the body, or the same failure.
 */
export async function readBody(body: ReadableStream<Uint8Array> | null, limit: number): Promise<BodyRead> {
  if (body === null) return { complete: true, bytes: EMPTY };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let result: Awaited<ReturnType<typeof reader.read>>;
    try {
      result = await reader.read();
    } catch (error) {
      return { complete: false, reason: "failed", stream: replay(chunks, undefined, error) };
    }
    if (result.done) break;
    const chunk = result.value;
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size > limit) return { complete: false, reason: "too-large", stream: replay(chunks, reader, undefined) };
  }
  return { complete: true, bytes: concat(chunks, size) };
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** A stream of `prefix`, then what `rest` still gives, or then `failure`. */
function replay(
  prefix: readonly Uint8Array[],
  rest: ReadableStreamDefaultReader<Uint8Array> | undefined,
  failure: unknown,
): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (next < prefix.length) {
          controller.enqueue(prefix[next++] as Uint8Array);
          return;
        }
        if (rest === undefined) {
          controller.error(failure);
          return;
        }
        const { done, value } = await rest.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return rest?.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
