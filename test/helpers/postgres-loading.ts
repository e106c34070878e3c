/**
 * Run in a child process by postgres.loading.test.ts. Mode "lazy": reports whether the `pg` package
 * is loaded after importing requestful, after constructing a PostgreSQL cache, after
 * `ResponseCache.create` made one, and after connecting it. Mode "missing": makes `pg` impossible to
 * resolve (as when it is not installed), then reports the errors that `ResponseCache.create` and
 * connecting a cache constructed directly give. Prints one line of JSON.
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
const describe = (error: unknown) => ({
  name: (error as Error).name,
  packageName: (error as { packageName?: unknown }).packageName,
  message: (error as Error).message,
});
let cache = PostgresCache.connect(url);
report.afterConstruct = pgLoaded();
try {
  cache = (await ResponseCache.create(url)) as typeof cache;
  report.afterCreate = pgLoaded();
} catch (error) {
  report.createError = describe(error);
}
try {
  await cache.connect();
  report.connected = true;
} catch (error) {
  report.error = describe(error);
}
report.afterConnect = pgLoaded();
report.isPostgres = cache instanceof PostgresCache;
await cache.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
