/** What every worker of the multi-process conformance test does, shared by the test and its workers. */
import { defineSettings } from "../../src/index.js";

export const WORKERS = 4;
export const ROUNDS = 5;
/** Keys that every worker writes, in each round. */
export const SHARED = 200;
/** Keys of its own that each worker writes in each round; one in ten it deletes again. */
export const OWN_PER_ROUND = 30;
/** Keys the test saves first and every worker deletes at once: each must be removed exactly once. */
export const DOOMED = 400;

export const sharedSettings = () => defineSettings({ name: "shared", fields: ["id"], getKey: () => [null] });
