/**
 * Many processes on one cache, for every backend that can be shared: four workers write, read and
 * delete the same keys at the same moment; nothing is lost, nothing is torn, every contested delete
 * counts once, no error reaches a caller, and the counts are exact. A backend's test file calls
 * `describeProcessConformance` with where its workers find the cache.
 */
import { describe, expect, it } from "vitest";
import { type AnyRepository, type Key, ResponseCache } from "../../src/index.js";
import { startWorker } from "../helpers/worker.js";
import { DOOMED, OWN_PER_ROUND, ROUNDS, SHARED, sharedSettings, WORKERS } from "./processes-plan.js";

export interface ProcessTarget {
  /** The backend's name, for the test title. */
  name: string;
  /** Set to a reason to skip (a service that is not running), shown in the output. */
  skip?: string | undefined;
  /** Where the test and each worker open the cache: `ResponseCache.create(value, options)`, as JSON. */
  location(): Promise<{ value: string; options: Record<string, unknown> }>;
  /** Removes what the test left behind. */
  cleanup?(): Promise<void>;
  /** Checks of the store itself that only this backend can make, once the workers are done. */
  verify?(cache: ResponseCache, expected: number): Promise<void>;
}

interface Summary {
  reads: number;
  removed: number;
  problems: string[];
  started: number;
  finished: number;
}

export function describeProcessConformance(target: ProcessTarget): void {
  if (target.skip) console.warn(`[processes] skipping ${target.name}: ${target.skip}`);

  describe.skipIf(Boolean(target.skip))(`conformance: ${target.name} shared by ${WORKERS} processes`, () => {
    it("loses nothing, counts exactly, removes each contested entry once, and surfaces no error", {
      timeout: 120_000,
    }, async () => {
      const location = await target.location();
      const cache = await ResponseCache.create(location.value, location.options);
      const repo = cache.createRepository(sharedSettings()) as AnyRepository;
      try {
        await cache.connect();
        const doomed: Key[] = Array.from({ length: DOOMED }, (_, i) => ["GET", `doomed-${i}`]);
        expect(await repo.saveResponses(doomed.map((key) => [key, "doomed"] as const))).toBe(DOOMED);

        // The workers connect first, then all start at the same instant.
        const startAt = Date.now() + 5_000;
        const results = await Promise.all(
          Array.from(
            { length: WORKERS },
            (_, worker) =>
              startWorker("cache-worker.ts", [JSON.stringify(location), String(worker), String(startAt)]).done,
          ),
        );
        const summaries: Summary[] = [];
        for (const [worker, result] of results.entries()) {
          expect(result.stderr, `worker ${worker}`).toBe("");
          expect(result.code, `worker ${worker}: ${result.stdout}`).toBe(0);
          const summary = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as Summary;
          expect(summary.problems).toEqual([]);
          expect(summary.reads).toBe(ROUNDS * (SHARED + OWN_PER_ROUND - OWN_PER_ROUND / 10));
          summaries.push(summary);
        }
        // They did run at the same time: each one's span of work overlaps every other's.
        const lastStart = Math.max(...summaries.map((summary) => summary.started));
        const firstEnd = Math.min(...summaries.map((summary) => summary.finished));
        expect(lastStart).toBeLessThan(firstEnd);
        // Each doomed entry was removed by exactly one process.
        expect(summaries.reduce((sum, summary) => sum + summary.removed, 0)).toBe(DOOMED);

        const ownKept = ROUNDS * (OWN_PER_ROUND - OWN_PER_ROUND / 10);
        const expected = SHARED + WORKERS * ownKept;
        expect(await repo.count(true)).toBe(expected);
        expect(await repo.count(false)).toBe(expected);
        const seen = new Map<string, unknown>();
        for await (const [key, value] of repo) seen.set(String(key[1]), value);
        expect(seen.size).toBe(expected);
        for (let i = 0; i < SHARED; i++) expect(seen.get(`s${i}`)).toMatch(new RegExp(`^w\\d:r\\d+:s${i}$`));
        for (let worker = 0; worker < WORKERS; worker++) {
          for (let j = 0; j < ROUNDS * OWN_PER_ROUND; j++) {
            expect(seen.get(`w${worker}-${j}`)).toBe(j % 10 === 0 ? undefined : `own w${worker}-${j}`);
          }
        }
        await target.verify?.(cache, expected);
      } finally {
        await cache.close();
        await target.cleanup?.();
      }
    });
  });
}
