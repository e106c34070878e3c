/**
 * The layers import downwards only: no module reaches itself again through its imports, static or
 * dynamic (`import()` included), so that each can be loaded, and tested, on its own.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "..", "src");

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(folder, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(folder, entry.name)]
        : [],
  );
}

/** The modules a file loads at run time: type-only imports and exports are erased, so they are left out. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+"(\.[^"]+)"/gms,
    /^\s*import\s+"(\.[^"]+)"/gm,
    /import\(\s*"(\.[^"]+)"\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      found.push(resolve(dirname(file), (match[1] as string).replace(/\.js$/, ".ts")));
    }
  }
  return found;
}

function findCycle(files: string[]): string[] | undefined {
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === "done") return undefined;
    if (state.get(file) === "visiting") return [...path.slice(path.indexOf(file)), file];
    state.set(file, "visiting");
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(file, "done");
    return undefined;
  };
  for (const file of files) {
    const cycle = visit(file);
    if (cycle !== undefined) return cycle.map((step) => relative(SRC, step));
  }
  return undefined;
}

describe("imports", () => {
  it("form no circle in the cache layer, ResponseCache.create included", () => {
    const files = sources(join(SRC, "cache"));
    expect(files.length).toBeGreaterThan(10);
    expect(importsOf(join(SRC, "cache", "factory.ts")).length).toBeGreaterThan(1);
    expect(findCycle(files)).toBeUndefined();
  });
});
