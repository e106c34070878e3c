/**
 * Every `ts` block of README.md and docs/*.md runs as copied, or is said to be a part of a larger
 * program and type-checks. The comment on the line just before a block says which:
 *
 * - `<!-- example: NAME -->`: the block is examples/NAME.ts as it stands, without the file's header
 *   comment and with "../src/index.js" read as "requestful". The file runs here with tsx in an empty
 *   folder; when a `text` block follows it (after one blank line), the program prints exactly that.
 *   An example starts the origin it calls (examples/catalogue-api.ts), never a host on the internet.
 * - `<!-- fragment -->`: a part of a program. It is type-checked against the public API with the
 *   project's compiler options, as a module in which every export of "requestful" that it does not
 *   import or declare itself is in scope, and so are the values of FRAGMENT_CONTEXT below (a
 *   `session`, a `cache`, a `url`, ...) that it does not declare.
 *
 * A block with neither comment fails, and so does an example file that no page shows.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { tempFolder } from "../helpers/temp.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");

/** What a fragment may use without declaring it, as the program around it would have it. */
const FRAGMENT_CONTEXT: Record<string, string> = {
  session: "CachedSession",
  cache: "ResponseCache",
  url: "string",
  settings: "ResponseRepositorySettings<string>",
  trackSettings: "ResponseRepositorySettings<string>",
  database: "SQLiteDatabase",
  expire: "Expire",
  log: "{ warn(...data: unknown[]): void; info(...data: unknown[]): void }",
  metrics:
    "{ increment(name: string, tags?: Record<string, string>): void; observe(name: string, value: number): void }",
};

interface Block {
  /** `README.md:120`, where the block's code starts. */
  readonly where: string;
  readonly line: number;
  readonly marker: { kind: "example"; name: string } | { kind: "fragment" } | undefined;
  readonly code: string;
  /** The `text` block that follows, if any. */
  readonly output: string | undefined;
}

const pages = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((file) => file.endsWith(".md"))
    .sort()
    .map((file) => `docs/${file}`),
];

/** The `ts` blocks of a page, with the marker before each and the output block after it. */
function blocksOf(page: string): Block[] {
  const lines = readFileSync(join(root, page), "utf8").split("\n");
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i] as string)) continue;
    const end = lines.indexOf("```", i + 1);
    if (end === -1) throw new Error(`${page}:${i + 1}: a code block that never ends`);
    const before = (lines[i - 1] ?? "").trim();
    const example = /^<!-- example: ([\w-]+) -->$/.exec(before);
    const marker =
      example !== null
        ? ({ kind: "example", name: example[1] as string } as const)
        : before === "<!-- fragment -->"
          ? ({ kind: "fragment" } as const)
          : undefined;
    let output: string | undefined;
    if (lines[end + 1] === "" && lines[end + 2] === "```text") {
      const close = lines.indexOf("```", end + 3);
      output = `${lines.slice(end + 3, close).join("\n")}\n`;
    }
    found.push({
      where: `${page}:${i + 2}`,
      line: i + 2,
      marker,
      code: `${lines.slice(i + 1, end).join("\n")}\n`,
      output,
    });
    i = end;
  }
  return found;
}

const blocks = pages.flatMap(blocksOf);
const examples = new Map<string, Block[]>();
for (const block of blocks) {
  if (block.marker?.kind !== "example") continue;
  examples.set(block.marker.name, [...(examples.get(block.marker.name) ?? []), block]);
}
const fragments = blocks.filter((block) => block.marker?.kind === "fragment");

/** An example's code as a page shows it: without its header comment, importing "requestful". */
function asShown(name: string): string {
  const source = readFileSync(join(root, "examples", `${name}.ts`), "utf8");
  return source.slice(source.indexOf("\n", source.indexOf("*/")) + 1).replace('"../src/index.js"', '"requestful"');
}

/** Runs an example in an empty folder, without the environment variable that moves the default cache. */
async function runExample(name: string, folder: string): Promise<string> {
  const { REQUESTFUL_CACHE: _, ...env } = process.env;
  const { stdout } = await run(tsx, [join(root, "examples", `${name}.ts`)], { cwd: folder, env });
  return stdout;
}

describe("the code blocks of README.md and docs/*.md", () => {
  it("each say whether they are an example or a fragment", () => {
    const unmarked = blocks.filter((block) => block.marker === undefined).map((block) => block.where);
    expect(
      unmarked,
      "put <!-- example: NAME --> (examples/NAME.ts, run by this test) or <!-- fragment --> (type-checked) " +
        "on the line before each ts block",
    ).toEqual([]);
    expect(examples.size).toBeGreaterThan(0);
    expect(fragments.length).toBeGreaterThan(0);
  });

  it("show every example file", () => {
    const files = readdirSync(join(root, "examples"))
      .filter((file) => file.endsWith(".ts") && file !== "catalogue-api.ts" && file !== "demo.ts")
      .map((file) => file.slice(0, -".ts".length))
      .sort();
    expect(files.filter((name) => !examples.has(name))).toEqual([]);
  });

  it.each([...examples.keys()])(
    "examples/%s.ts: shown as it stands, and prints what the page says",
    async (name) => {
      expect(existsSync(join(root, "examples", `${name}.ts`)), `examples/${name}.ts`).toBe(true);
      for (const block of examples.get(name) ?? []) expect(block.code, block.where).toBe(asShown(name));
      const folder = tempFolder();
      try {
        const stdout = await runExample(name, folder.path);
        for (const block of examples.get(name) ?? []) {
          if (block.output !== undefined) expect(stdout, `the output shown after ${block.where}`).toBe(block.output);
        }
      } finally {
        folder.remove();
      }
    },
    60_000,
  );

  it("the one-line example keeps its cache in .cache/requestful.sqlite", async () => {
    const folder = tempFolder();
    try {
      await runExample("one-line", folder.path);
      expect(existsSync(join(folder.path, ".cache", "requestful.sqlite"))).toBe(true);
    } finally {
      folder.remove();
    }
  }, 60_000);

  it("the request handler's caching example answers its first pass from the file when run again", async () => {
    const folder = tempFolder();
    try {
      await runExample("request-cache", folder.path);
      const stdout = await runExample("request-cache", folder.path);
      expect(stdout).toBe("pass 1: 22 requests, 0 reached the API\npass 2: 22 requests, 0 reached the API\n");
    } finally {
      folder.remove();
    }
  }, 60_000);

  it("fragments type-check against the public API", () => {
    const diagnostics = typeCheck(fragments);
    expect(diagnostics).toEqual([]);
  }, 120_000);
});

/** Type-checks the fragments, each as a module of its own; resolves to the errors, with the page and line of each. */
function typeCheck(parts: readonly Block[]): string[] {
  const config = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    baseUrl: root,
    paths: { requestful: ["src/index.ts"] },
  };
  const exports = publicExports(options);
  const files = new Map<string, { block: Block; text: string }>();
  parts.forEach((block, index) => {
    const declared = declaredNames(block.code);
    const imports = exports
      .filter(({ name }) => !declared.has(name))
      .map(({ name, value }) => (value ? name : `type ${name}`));
    const context = Object.entries(FRAGMENT_CONTEXT)
      .filter(([name]) => !declared.has(name))
      .map(([name, type]) => `declare const ${name}: ${type};`);
    // One line before the fragment, so that its lines keep their numbers but one.
    const prelude = `import { ${imports.join(", ")} } from "requestful"; ${context.join(" ")}`;
    files.set(join(root, "docs", `fragment-${index}.ts`), { block, text: `${prelude}\n${block.code}` });
  });
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file)?.text ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) => {
    const fragment = files.get(file);
    if (fragment !== undefined) return ts.createSourceFile(file, fragment.text, language, true, ts.ScriptKind.TS);
    return getSourceFile.call(host, file, language, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const errors: string[] = [];
  for (const [file, { block }] of files) {
    const source = program.getSourceFile(file);
    for (const diagnostic of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const line =
        diagnostic.start === undefined ? 0 : (source?.getLineAndCharacterOfPosition(diagnostic.start).line ?? 0);
      const where = line === 0 ? `${block.where} (before it)` : `${block.where.split(":")[0]}:${block.line + line - 1}`;
      errors.push(`${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`);
    }
  }
  return errors;
}

/** The names that "requestful" exports, and whether each is a value (or only a type). */
function publicExports(options: ts.CompilerOptions): { name: string; value: boolean }[] {
  const index = join(root, "src", "index.ts");
  const program = ts.createProgram([index], options);
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(index) as ts.SourceFile);
  if (module === undefined) throw new Error(`no module symbol for ${relative(root, index)}`);
  return checker.getExportsOfModule(module).map((symbol) => {
    // A value exported with `export { type X }` somewhere along the way is a type to importers.
    let typeOnly = false;
    let target = symbol;
    while (target.flags & ts.SymbolFlags.Alias) {
      typeOnly ||= (target.declarations ?? []).some(
        (declaration) =>
          (ts.isExportSpecifier(declaration) && (declaration.isTypeOnly || declaration.parent.parent.isTypeOnly)) ||
          (ts.isExportDeclaration(declaration) && declaration.isTypeOnly),
      );
      const next = checker.getImmediateAliasedSymbol(target);
      if (next === undefined) break;
      target = next;
    }
    return { name: symbol.name, value: !typeOnly && (target.flags & ts.SymbolFlags.Value) !== 0 };
  });
}

/** The names a fragment declares or imports at its top level. */
function declaredNames(code: string): Set<string> {
  const names = new Set<string>();
  const add = (name: ts.BindingName | undefined) => {
    if (name === undefined) return;
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) add(element.name);
  };
  const source = ts.createSourceFile("fragment.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement))
      for (const declaration of statement.declarationList.declarations) add(declaration.name);
    else if (
      ts.isFunctionDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isEnumDeclaration(statement)
    ) {
      add(statement.name);
    } else if (ts.isImportDeclaration(statement) && statement.importClause !== undefined) {
      const { name, namedBindings } = statement.importClause;
      add(name);
      if (namedBindings !== undefined && ts.isNamespaceImport(namedBindings)) add(namedBindings.name);
      else if (namedBindings !== undefined) for (const element of namedBindings.elements) add(element.name);
    }
  }
  return names;
}
