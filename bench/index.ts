/**
 * `npm run bench`: runs every benchmark script, or those named on the command line
 * (`npm run bench -- cache session`). Each prints its figures beside a floor measured in the same run.
 */
import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((file) => file.endsWith(".bench.ts"))
  .map((file) => file.slice(0, -".bench.ts".length))
  .sort();
const wanted = process.argv.slice(2);
const chosen = wanted.length > 0 ? all.filter((name) => wanted.includes(name)) : all;

console.log(`requestful benchmarks (${chosen.join(", ")}) on Node ${process.version}`);
for (const name of chosen) {
  const module = (await import(pathToFileURL(`${here}/${name}.bench.ts`).href)) as { run(): Promise<void> };
  await module.run();
}
