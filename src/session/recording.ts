/** Reading a network body for two: the caller, as it streams, and the cache, once it has all of it. */

/** What the cache gets of a body: all of it, or why not. */
export type Recorded =
  | { readonly complete: true; readonly bytes: Uint8Array }
  | {
      readonly complete: false;
      /**
       * `too-large`: the body passed the limit; `failed`: it failed part way, as it does for the
       * caller; `abandoned`: the cache stopped waiting for it ({@link Recording.abandon}).
       */
      readonly reason: "too-large" | "failed" | "abandoned";
    };

const EMPTY = new Uint8Array(0);

/**
 * Streams `body` to the caller while recording it for the cache, so that the caller sees the first
 * bytes as soon as they come: the stream of a {@link Recording}, made at once.
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
  return new Recording(body, limit, settle).stream;
}

/**
 * A network body read for two: the caller, as it streams, and the cache, once it has all of it.
 *
 * While the body stays within `limit` bytes it is read ahead of the caller (so that a caller that
 * reads slowly, or not at all, still lets the cache have it), and `settle` gets the whole of it
 * when it ends — before the caller's stream closes, so that a caller that has read the body to its
 * end knows that the cache has what `settle` did with it. Past the limit, or when the body fails,
 * `settle` learns why, and the body is read only as fast as the caller reads it. A caller that
 * cancels while the body is recorded leaves it to be read to its end for the cache.
 *
 * The caller's stream is made when it is first asked for, with every chunk read until then: a
 * caller that reads the whole body at once can take the recorded bytes instead ({@link take}),
 * and no stream is made at all.
 */
export class Recording {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #limit: number;
  readonly #settle: (recorded: Recorded) => Promise<void>;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #recording = true;
  #cancelled = false;
  #settled = false;
  #pulled: (() => void) | undefined;
  #demand = false;
  #wake: (() => void) | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #stream: ReadableStream<Uint8Array> | undefined;
  /** The stream shown while a take is under way. */
  #inUse: ReadableStream<Uint8Array> | undefined;
  /** Chunks read before the caller's stream was made, in order. */
  #backlog: Uint8Array[] | undefined = [];
  /** How the body ended before the caller's stream was made: closed, or failed with an error. */
  #end: { readonly error: unknown } | "closed" | undefined;
  /** Whether {@link take} is taking the body, or took it: the caller's stream is a used one then. */
  #taken: "no" | "pending" | "yes" = "no";
  /**
   * The body's JSON value, when whoever settled the recording parsed it already (once: a reader
   * takes it), so that `json()` need not parse the bytes again.
   */
  parsedJson: { readonly value: unknown } | undefined;
  /** Resolves once the recording ends: with the whole body after `settle`, or `undefined` if it did not complete. */
  readonly #ended: Promise<Uint8Array | undefined>;
  #resolveEnded!: (bytes: Uint8Array | undefined) => void;

  constructor(body: ReadableStream<Uint8Array>, limit: number, settle: (recorded: Recorded) => Promise<void>) {
    this.#reader = body.getReader();
    this.#limit = limit;
    this.#settle = settle;
    this.#ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    void this.#pump();
  }

  /** The caller's stream of the body, made on first use. */
  get stream(): ReadableStream<Uint8Array> {
    // While a take is under way the body is in use, and it may yet fall back to the stream.
    if (this.#taken === "pending") {
      this.#inUse ??= usedStream();
      return this.#inUse;
    }
    this.#stream ??= this.#taken === "yes" ? usedStream() : this.#makeStream();
    return this.#stream;
  }

  /** Whether {@link take} can give the body: no stream made, not taken. */
  get untouched(): boolean {
    return this.#stream === undefined && this.#taken === "no";
  }

  /**
   * Takes the body for a caller that reads all of it at once: the recorded bytes once `settle` has
   * had them, or `undefined` when the recording did not complete (past the limit, or failed), and
   * only the stream can give the body. Only while {@link untouched}; the body is used from then on.
   */
  async take(): Promise<Uint8Array | undefined> {
    this.#taken = "pending";
    const bytes = await this.#ended;
    if (bytes === undefined)
      this.#taken = "no"; // the stream gives the body, or the failure
    else {
      this.#taken = "yes";
      this.#backlog = undefined;
    }
    return bytes;
  }

  /**
   * Stops recording a body that has not ended: `settle` learns that it is `abandoned`, and the body
   * goes on for the caller, read as fast as the caller reads it. A body that has ended is left to
   * its `settle`.
   */
  abandon(): Promise<void> {
    return this.#finish({ complete: false, reason: "abandoned" });
  }

  #makeStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          const backlog = this.#backlog ?? [];
          this.#backlog = undefined;
          for (const chunk of backlog) controller.enqueue(chunk);
          const end = this.#end;
          if (end === "closed") controller.close();
          else if (end !== undefined) controller.error(end.error);
        },
        pull: () => {
          this.#demand = true;
          this.#resume();
          return new Promise<void>((resolve) => {
            this.#pulled = resolve;
          });
        },
        cancel: (reason) => {
          this.#cancelled = true;
          this.#answered();
          this.#resume();
          if (!this.#recording) return this.#reader.cancel(reason);
          return undefined;
        },
      },
      { highWaterMark: 0 },
    );
  }

  #resume(): void {
    const resume = this.#wake;
    this.#wake = undefined;
    resume?.();
  }

  #answered(): void {
    const resolve = this.#pulled;
    this.#pulled = undefined;
    resolve?.();
  }

  async #finish(recorded: Recorded): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    this.#recording = false;
    this.#chunks = [];
    try {
      await this.#settle(recorded);
    } catch {
      // What the cache does with the body is its own affair: the caller's body goes on.
    }
    if (!recorded.complete) this.#resolveEnded(undefined);
  }

  #enqueue(chunk: Uint8Array): void {
    if (this.#cancelled) return;
    if (this.#controller !== undefined) this.#controller.enqueue(chunk);
    else this.#backlog?.push(chunk);
  }

  #close(): void {
    if (this.#cancelled) return;
    if (this.#controller !== undefined) this.#controller.close();
    else this.#end = "closed";
  }

  #error(error: unknown): void {
    if (this.#cancelled) return;
    if (this.#controller !== undefined) this.#controller.error(error);
    else this.#end = { error };
  }

  async #pump(): Promise<void> {
    const reader = this.#reader;
    for (;;) {
      if (!this.#recording) {
        if (this.#cancelled) return void reader.cancel().catch(() => {});
        while (!this.#demand && !this.#cancelled) await new Promise<void>((resolve) => (this.#wake = resolve));
        if (this.#cancelled) return void reader.cancel().catch(() => {});
        this.#demand = false;
      }
      let result: Awaited<ReturnType<typeof reader.read>>;
      try {
        result = await reader.read();
      } catch (error) {
        await this.#finish({ complete: false, reason: "failed" });
        this.#error(error);
        this.#answered();
        return;
      }
      if (result.done) break;
      const chunk = result.value;
      if (this.#recording) {
        this.#chunks.push(chunk);
        this.#size += chunk.byteLength;
        if (this.#size > this.#limit) await this.#finish({ complete: false, reason: "too-large" });
      }
      this.#enqueue(chunk);
      this.#answered();
    }
    if (this.#recording) {
      const bytes = concat(this.#chunks, this.#size);
      await this.#finish({ complete: true, bytes });
      this.#resolveEnded(bytes);
    }
    this.#close();
    this.#answered();
  }
}

/** A stream as `Response` leaves its body after a read: disturbed, locked and closed. */
function usedStream(): ReadableStream<Uint8Array> {
  const response = new Response("");
  void response.arrayBuffer();
  return response.body as ReadableStream<Uint8Array>;
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
