import { formatCount, formatSpan } from "./format.js";
import type { Output } from "./terminal.js";

/**
 * A progress line on a terminal — label, bar, count, rate and time left — redrawn at most ten times
 * a second. Not a terminal (a pipe, a file, CI): it draws nothing at all.
 */
export class ProgressBar {
  readonly #output: Output;
  readonly #label: string;
  readonly #on: boolean;
  readonly #start = performance.now();
  #last = 0;
  #drawn = false;

  constructor(output: Output, label: string) {
    this.#output = output;
    this.#label = label;
    this.#on = output.isTTY === true;
  }

  /** Shows `done` of `total` (when it is known). */
  update(done: number, total?: number): void {
    if (!this.#on) return;
    const now = performance.now();
    if (this.#drawn && now - this.#last < 100 && done !== total) return;
    this.#last = now;
    this.#drawn = true;
    const seconds = (now - this.#start) / 1_000;
    const rate = seconds > 0 ? done / seconds : 0;
    const width = 24;
    let bar = "";
    let tail = "";
    if (total !== undefined && total > 0) {
      const share = Math.min(1, done / total);
      const filled = Math.round(share * width);
      bar = ` [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.floor(share * 100)}%`;
      const left = rate > 0 ? ((total - done) / rate) * 1_000 : Number.NaN;
      tail = Number.isFinite(left) ? `  ETA ${formatSpan(left)}` : "";
    }
    const count = total === undefined ? formatCount(done) : `${formatCount(done)}/${formatCount(total)}`;
    const columns = this.#output.columns ?? 80;
    const text = `${this.#label}${bar} ${count}  ${formatCount(Math.round(rate))}/s${tail}`.slice(0, columns - 1);
    this.#output.write(`\r\u001b[2K${text}`);
  }

  /** Takes the line away. */
  done(): void {
    if (this.#on && this.#drawn) this.#output.write("\r\u001b[2K");
    this.#drawn = false;
  }
}
