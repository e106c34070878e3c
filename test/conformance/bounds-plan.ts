/** What every worker of the multi-process bounds test does, shared by the test and its workers. */
import { defineSettings } from "../../src/index.js";

export const BOUND_WORKERS = 4;
/** Entries each worker writes. */
export const WRITES_PER_WORKER = 400;
export const MAX_ENTRIES = 120;
export const MAX_BYTES = 120 * 1_200;

export const boundSettings = () => defineSettings({ name: "bounded", fields: ["id"], getKey: () => [null] });

/** A payload of a size that varies with the key: 100 to 2,100 bytes. */
export function payloadFor(worker: number, i: number): string {
  return `w${worker}:${i}:`.padEnd(100 + ((i * 7919 + worker * 104_729) % 2_000), "x");
}
