/**
 * One of several processes that write and read the same SQLite file at once.
 * Usage: tsx sqlite-writer.ts <path> <worker> <rounds>. Prints a JSON summary; exits 1 on any error.
 */
import { defineSettings, SQLiteCache } from "../../src/index.js";

const [path, workerArg, roundsArg] = process.argv.slice(2);
const worker = Number(workerArg);
const rounds = Number(roundsArg);

const cache = SQLiteCache.connect(path as string);
const repo = cache.createRepository(defineSettings({ name: "shared", fields: ["id"], getKey: () => [null] }));
const errors: string[] = [];
let reads = 0;

try {
  await cache.connect();
  for (let round = 0; round < rounds; round++) {
    try {
      // Keys every worker writes: the last writer wins, but an entry is never lost.
      await repo.saveResponse([["GET", `shared-${round % 25}`], `worker ${worker} round ${round}`]);
      // Keys only this worker writes: every one must be there at the end.
      await repo.saveResponses(
        Array.from({ length: 10 }, (_, i) => [["GET", `w${worker}-r${round}-${i}`], `payload ${i}`] as const),
      );
      if ((await repo.getResponse(["GET", `w${worker}-r${round}-0`])) !== "payload 0") {
        errors.push(`round ${round}: own write not read back`);
      }
      reads += (await repo.getResponses(Array.from({ length: 25 }, (_, i) => ["GET", `shared-${i}`] as const))).length;
      await repo.count(false);
    } catch (error) {
      errors.push(`${(error as Error).name}: ${(error as Error).message}`);
    }
  }
} finally {
  await cache.close();
}
console.log(JSON.stringify({ worker, rounds, reads, errors }));
process.exit(errors.length > 0 ? 1 : 0);
