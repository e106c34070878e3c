/**
 * Run in a child process by postgres.loading.test.ts. Mode "lazy": reports whether the `pg` package
 * is loaded after importing requestful, after making a PostgreSQL cache, and after connecting it.
 * Mode "missing": makes `pg` impossible to resolve (as when it is not installed), then reports the
 * error that connecting gives. Prints one line of JSON.
 */
import { createRequire, register } from "node:module";

const [mode, url] = process.argv.slice(2) as ["lazy" | "missing", string];
const require = createRequire(import.meta.url);
const pgLoaded = () => Object.keys(require.cache).some((path) => /[\\/]node_modules[\\/]pg[\\/]/.test(path));

if (mode === "missing") {
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === "pg") {
      throw Object.assign(new Error("Cannot find package 'pg'"), { code: "ERR_MODULE_NOT_FOUND" });
    }
    return next(specifier, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

const { PostgresCache, ResponseCache } = await import("../../src/index.js");
const report: Record<string, unknown> = { afterImport: pgLoaded() };
const cache = await ResponseCache.create(url);
report.afterCreate = pgLoaded();
try {
  await cache.connect();
  report.connected = true;
} catch (error) {
  report.error = { name: (error as Error).name, message: (error as Error).message };
}
report.afterConnect = pgLoaded();
report.isPostgres = cache instanceof PostgresCache;
await cache.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
