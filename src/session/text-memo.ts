/**
 * What was parsed from stored text, by the text: each version of a stored entry has its own text
 * (its `ETag`, its `Date`, its response time), and what is parsed from it is only ever read, so a
 * hit does not parse the same text again.
 *
 * Bounded in two generations: a text is looked up in the young one, then in the old one (and moved
 * to the young one); when the young one is full, it becomes the old one and the texts no hit asked
 * for since are dropped. Texts in use stay parsed however many there are, within the bound: unlike a
 * memo that is cleared when full, a working set larger than one generation does not thrash.
 */
export class TextMemo<T> {
  readonly #parse: (text: string) => T;
  readonly #maxEntries: number;
  readonly #maxChars: number;
  #young = new Map<string, T>();
  #old = new Map<string, T>();
  #youngChars = 0;

  /**
   * @param parse parses a text; what it throws is thrown to the caller, and nothing is kept.
   * @param maxEntries texts a generation holds at most.
   * @param maxChars characters of text a generation holds at most.
   */
  constructor(parse: (text: string) => T, maxEntries = 4_096, maxChars = 4 * 1024 * 1024) {
    this.#parse = parse;
    this.#maxEntries = maxEntries;
    this.#maxChars = maxChars;
  }

  /** What `text` parses to, parsed once while it is in use. */
  get(text: string): T {
    const young = this.#young.get(text);
    if (young !== undefined) return young;
    const value = this.#old.get(text) ?? this.#parse(text);
    if (this.#young.size >= this.#maxEntries || this.#youngChars + text.length > this.#maxChars) {
      this.#old = this.#young;
      this.#young = new Map();
      this.#youngChars = 0;
    }
    this.#young.set(text, value);
    this.#youngChars += text.length;
    return value;
  }
}
