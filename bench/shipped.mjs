/**
 * Makes the benchmarks run the package as it ships: every module of `src/` that they import is
 * loaded from its compiled form in `dist/` (built by `npm run bench` first), not from the
 * TypeScript source through tsx, whose transform adds a `__name` call to every function a hot
 * path creates. `BENCH_SOURCE=src` runs the source instead. Registered after tsx, so that it sees
 * the file tsx resolved.
 */
import { existsSync } from "node:fs";
import { register } from "node:module";

if (process.env.BENCH_SOURCE !== "src") {
  const root = new URL("../", import.meta.url);
  if (!existsSync(new URL("dist/index.js", root))) {
    throw new Error("the benchmarks run the compiled package: run `npm run build` first (or set BENCH_SOURCE=src)");
  }
  register(new URL("./shipped-hooks.mjs", import.meta.url), { data: { root: root.href } });
}
