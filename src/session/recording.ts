/** Reading a network body for two: the caller, as it streams, and the cache, once it has all of it. */

/** What the cache gets of a body: all of it, or why not. */
export type Recorded =
  | { readonly complete: true; readonly bytes: Uint8Array }
  | {
      readonly complete: false;
      /** `too-large`: the body passed the limit; `failed`: it failed part way, as it does for the caller. */
      readonly reason: "too-large" | "failed";
    };

const EMPTY = new Uint8Array(0);

/**
 * Streams `body` to the caller while recording it for the cache, so that the caller sees the first
 * bytes as soon as they come.
 *
 * While the body stays within `limit` bytes it is read ahead of the caller (so that a caller that
 * reads slowly, or not at all, still lets the cache have it), and `settle` gets the whole of it
 * when it ends — before the caller's stream closes, so that a caller that has read the body to its
 * end knows that the cache has what `settle` did with it. Past the limit, or when the body fails,
 * `settle` learns why, and the body is read only as fast as the caller reads it. A caller that
 * cancels while the body is recorded leaves it to be read to its end for the cache.
 */
export function recordBody(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  settle: (recorded: Recorded) => Promise<void>,
): ReadableStream<Uint8Array> | null {
  if (body === null) {
    void settle({ complete: true, bytes: EMPTY });
    return null;
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let recording = true;
  let cancelled = false;
  let settled = false;
  let pulled: (() => void) | undefined;
  let demand = false;
  let wake: (() => void) | undefined;
  let controller!: ReadableStreamDefaultController<Uint8Array>;

  const finish = async (recorded: Recorded): Promise<void> => {
    if (settled) return;
    settled = true;
    recording = false;
    chunks.length = 0;
    try {
      await settle(recorded);
    } catch {
      // What the cache does with the body is its own affair: the caller's body goes on.
    }
  };
  const answered = () => {
    const resolve = pulled;
    pulled = undefined;
    resolve?.();
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        demand = true;
        const resume = wake;
        wake = undefined;
        resume?.();
        return new Promise<void>((resolve) => {
          pulled = resolve;
        });
      },
      cancel(reason) {
        cancelled = true;
        answered();
        const resume = wake;
        wake = undefined;
        resume?.();
        if (!recording) return reader.cancel(reason);
        return undefined;
      },
    },
    { highWaterMark: 0 },
  );

  const pump = async (): Promise<void> => {
    for (;;) {
      if (!recording) {
        if (cancelled) return void reader.cancel().catch(() => {});
        while (!demand && !cancelled) await new Promise<void>((resolve) => (wake = resolve));
        if (cancelled) return void reader.cancel().catch(() => {});
        demand = false;
      }
      let result: Awaited<ReturnType<typeof reader.read>>;
      try {
        result = await reader.read();
      } catch (error) {
        await finish({ complete: false, reason: "failed" });
        if (!cancelled) controller.error(error);
        answered();
        return;
      }
      if (result.done) break;
      const chunk = result.value;
      if (recording) {
        chunks.push(chunk);
        size += chunk.byteLength;
        if (size > limit) await finish({ complete: false, reason: "too-large" });
      }
      if (!cancelled) controller.enqueue(chunk);
      answered();
    }
    if (recording) await finish({ complete: true, bytes: concat(chunks, size) });
    if (!cancelled) controller.close();
    answered();
  };
  void pump();
  return stream;
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
