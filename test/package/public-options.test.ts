import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Every property of the exported options types, with the TSDoc tags it lacks. */
function undocumentedOptions(): string[] {
  const program = ts.createProgram([`${root}src/index.ts`], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(`${root}src/index.ts`);
  if (index === undefined) throw new Error("src/index.ts was not found");
  const module = checker.getSymbolAtLocation(index);
  if (module === undefined) throw new Error("src/index.ts has no exports");
  const missing = new Set<string>();
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!/(Options|Init|Definition)$/.test(symbol.getName())) continue;
    const declared = symbol.declarations?.some((d) => ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d));
    if (!declared) continue;
    for (const property of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
      const declaration = property.declarations?.[0];
      const file = declaration?.getSourceFile().fileName ?? "";
      if (declaration === undefined || !file.startsWith(`${root}src/`)) continue;
      const tags = property.getJsDocTags().map((tag) => tag.name);
      const lacks = [];
      if (property.flags & ts.SymbolFlags.Optional && !tags.includes("default")) lacks.push("@default");
      if (!tags.includes("example")) lacks.push("@example");
      if (lacks.length === 0) continue;
      const line = declaration.getSourceFile().getLineAndCharacterOfPosition(declaration.getStart()).line + 1;
      missing.add(`${file.slice(root.length)}:${line} ${symbol.getName()}.${property.getName()}: ${lacks.join(", ")}`);
    }
  }
  return [...missing].sort();
}

describe("the published API", () => {
  it("documents every public option with @default (when optional) and @example", { timeout: 120_000 }, () => {
    expect(undocumentedOptions()).toEqual([]);
  });

  it("names no driver package in the source of its public types", () => {
    // The backends load their drivers at run time; their types are the package's own (SQLiteDatabase,
    // RedisClient, PgPool), so that a project without ioredis, pg or @types/* compiles against it.
    for (const file of [
      "src/cache/backends/sqlite/cache.ts",
      "src/cache/backends/sqlite/table.ts",
      "src/cache/backends/redis/cache.ts",
      "src/cache/backends/redis/connection.ts",
      "src/cache/backends/redis/repository.ts",
      "src/cache/backends/postgres/cache.ts",
      "src/cache/backends/postgres/table.ts",
      "src/cache/backends/postgres/driver.ts",
    ]) {
      const text = readFileSync(`${root}${file}`, "utf8");
      expect(text, file).not.toMatch(/import type [^;]*from "(better-sqlite3|ioredis|pg)"/);
      expect(text, file).not.toMatch(/import \{[^}]*\btype [^;]*from "(better-sqlite3|ioredis|pg)"/);
    }
  });
});
