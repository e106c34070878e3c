import { defineSettings, JSONPayloadHandler, type JSONValue } from "../src/index.js";
/**
 * Helpers for the benchmark scripts: time a piece of work, and print figures beside a floor
 * measured in the same run. Figures are printed, never asserted.
 */

export interface Measurement {
  label: string;
  /** Microseconds per operation. */
  usPerOp: number;
  /** Operations per second. */
  opsPerSec: number;
}

/**
 * Runs `work` (one operation per call) for about `ms` milliseconds after a warm-up, and reports
 * the median of five rounds.
 */
export async function measure(label: string, work: () => unknown, ms = 400): Promise<Measurement> {
  const warmUntil = performance.now() + ms / 4;
  while (performance.now() < warmUntil) await work();
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    let ops = 0;
    const start = performance.now();
    const until = start + ms / 5;
    do {
      await work();
      ops++;
    } while (performance.now() < until);
    rounds.push(((performance.now() - start) * 1_000) / ops);
  }
  rounds.sort((a, b) => a - b);
  const usPerOp = rounds[2] as number;
  return { label, usPerOp, opsPerSec: 1_000_000 / usPerOp };
}

/**
 * Like `measure`, for work that handles `batch` items per call: reports per-item figures
 * (entries/s), from the median of `rounds` calls.
 */
export async function measureBatch(
  label: string,
  batch: number,
  work: () => unknown,
  rounds = 7,
): Promise<Measurement> {
  await work();
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(rounds / 2)] as number;
  const usPerOp = (ms * 1_000) / batch;
  return { label, usPerOp, opsPerSec: 1_000_000 / usPerOp };
}

/** Prints a heading and rows of figures, each with its ratio to the floor (the first row given as floor). */
export function report(title: string, rows: { subject: Measurement; floor: Measurement; target?: number }[]): void {
  console.log(`\n${title}`);
  const width = Math.max(...rows.flatMap(({ subject, floor }) => [subject.label.length, floor.label.length]));
  for (const { subject, floor, target } of rows) {
    const ratio = subject.usPerOp / floor.usPerOp;
    const verdict =
      target === undefined ? "" : ratio <= target ? `  (target ≤ ${target}×: met)` : `  (target ≤ ${target}×: MISSED)`;
    console.log(`  ${floor.label.padEnd(width)}  ${fmt(floor)}`);
    console.log(`  ${subject.label.padEnd(width)}  ${fmt(subject)}   ${ratio.toFixed(2)}× floor${verdict}`);
  }
}

function fmt(m: Measurement): string {
  const ops = m.opsPerSec >= 1000 ? `${(m.opsPerSec / 1000).toFixed(1)}k` : m.opsPerSec.toFixed(0);
  return `${m.usPerOp.toFixed(2).padStart(9)} µs/op ${ops.padStart(8)} ops/s`;
}

/** A JSON object of about `bytes` bytes when stringified. */
export function jsonPayload(bytes: number, id: number | string = 0): Record<string, unknown> {
  const base = { id, type: "track", name: `Track ${id}`, artists: ["someone", "someone else"], popularity: 42 };
  const filler = Math.max(0, bytes - JSON.stringify(base).length - 12);
  return { ...base, notes: "x".repeat(filler) };
}

/** JSON settings for benchmarks that read and write by key: no request maps to a key. */
export function keyOnlySettings(name = "tracks") {
  return defineSettings<JSONValue>({
    name,
    fields: ["id"],
    getKey: () => [null],
    payloadHandler: new JSONPayloadHandler(),
  });
}
