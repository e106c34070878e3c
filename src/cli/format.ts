/** Text for people: sizes, durations, instants, tables and colour. */

const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;
export type Style = keyof typeof STYLES;

/** Paints text when colour is on. */
export type Paint = (style: Style, text: string) => string;

export function painter(on: boolean): Paint {
  if (!on) return (_style, text) => text;
  return (style, text) => `\u001b[${STYLES[style][0]}m${text}\u001b[${STYLES[style][1]}m`;
}

/** The length of text as it shows, without colour codes. */
export function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes are what is removed.
  return [...text.replace(/\u001b\[\d+m/g, "")].length;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** 12345 → "12,345". */
export function formatCount(count: number): string {
  return count.toLocaleString("en-US");
}

/** A length of time, in its largest two units: "3d 4h", "12m", "45s". */
export function formatSpan(ms: number): string {
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ];
  let rest = Math.abs(ms);
  const parts: string[] = [];
  for (const [unit, size] of units) {
    // The largest unit that is not zero, and the next one even when it is: "1h 0m", not "1h 3s".
    if (rest >= size || parts.length > 0 || unit === "s") {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** An instant relative to now: "3h ago", "in 2d 1h". */
export function formatRelative(instant: number, now: number): string {
  const span = formatSpan(instant - now);
  return instant <= now ? `${span} ago` : `in ${span}`;
}

/** An instant as UTC text to the second: "2026-01-31 12:00:00Z". */
export function formatInstant(instant: number): string {
  const iso = new Date(instant).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** Parses "90s", "15m", "12h", "7d", "2w", "1d12h" or milliseconds ("5000ms") into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const sizes: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let matched = 0;
  for (const match of text.matchAll(pattern)) {
    total += Number(match[1]) * (sizes[match[2] as string] as number);
    matched += match[0].length;
  }
  return matched === text.length && matched > 0 ? total : undefined;
}

/**
 * A table that streams: the widths of its columns come from the first rows (and grow if a later row
 * is wider), so that a listing of a million rows needs no more memory than a page of them.
 */
export class Table {
  readonly #headers: readonly string[];
  readonly #widths: number[];
  readonly #right: ReadonlySet<number>;
  readonly #paint: Paint;
  #pending: string[][] | undefined = [];
  readonly #pageSize: number;

  constructor(headers: readonly string[], options: { right?: readonly number[]; paint: Paint; pageSize?: number }) {
    this.#headers = headers;
    this.#widths = headers.map((header) => visibleLength(header));
    this.#right = new Set(options.right ?? []);
    this.#paint = options.paint;
    this.#pageSize = options.pageSize ?? 200;
  }

  /** Adds a row; returns the text ready to print (empty while the first page is being measured). */
  add(row: string[]): string {
    this.#measure(row);
    if (this.#pending === undefined) return this.#line(row);
    this.#pending.push(row);
    return this.#pending.length >= this.#pageSize ? this.flush() : "";
  }

  /** The header and the rows held back, if any are. */
  flush(): string {
    const pending = this.#pending;
    if (pending === undefined) return "";
    this.#pending = undefined;
    const header = this.#paint("bold", this.#line([...this.#headers]).trimEnd());
    return `${header}\n${pending.map((row) => this.#line(row)).join("")}`;
  }

  #measure(row: string[]): void {
    row.forEach((cell, i) => {
      this.#widths[i] = Math.max(this.#widths[i] ?? 0, visibleLength(cell));
    });
  }

  #line(row: string[]): string {
    const last = row.length - 1;
    const cells = row.map((cell, i) => {
      const pad = " ".repeat(Math.max(0, (this.#widths[i] ?? 0) - visibleLength(cell)));
      if (this.#right.has(i)) return pad + cell;
      return i === last ? cell : cell + pad;
    });
    return `${cells.join("  ")}\n`;
  }
}
