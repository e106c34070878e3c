/** Resolve hook of bench/shipped.mjs: `src/**\/*.ts` → `dist/**\/*.js`, where the compiled file exists. */
import { existsSync } from "node:fs";

let source;
let compiled;

export function initialize({ root }) {
  source = `${root}src/`;
  compiled = `${root}dist/`;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(source) || !resolved.url.endsWith(".ts")) return resolved;
  const url = `${compiled}${resolved.url.slice(source.length, -".ts".length)}.js`;
  return existsSync(new URL(url)) ? { ...resolved, url, format: "module" } : resolved;
}
