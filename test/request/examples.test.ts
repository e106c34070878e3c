/**
 * README.md shows each examples/request-*.ts file as it stands and what it prints: each one
 * runs here against the demo catalogue API, so the page stays true.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempFolder } from "../helpers/temp.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const page = readFileSync(join(root, "README.md"), "utf8");
const tsx = join(root, "node_modules", ".bin", "tsx");

/** The code block and the output block that follow `<!-- example: NAME -->` on the page. */
function shown(name: string): { code: string | undefined; output: string | undefined } {
  const match = new RegExp(
    `<!-- example: ${name} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\`\\n\\n\`\`\`text\\n([\\s\\S]*?)\`\`\``,
  ).exec(page);
  return { code: match?.[1], output: match?.[2] };
}

/** An example's code as the page shows it: without its header comment, importing "requestful". */
function asShown(file: string): string {
  const source = readFileSync(join(root, "examples", file), "utf8");
  return source.slice(source.indexOf("\n", source.indexOf("*/")) + 1).replace('"../src/index.js"', '"requestful"');
}

const examples = readdirSync(join(root, "examples"))
  .filter((file) => /^request-.*\.ts$/.test(file))
  .sort();

describe("README.md", () => {
  it("shows every request example", () => {
    expect(examples).toEqual([
      "request-cache.ts",
      "request-credentials.ts",
      "request-get.ts",
      "request-json.ts",
      "request-retries.ts",
    ]);
  });

  it.each(examples)(
    "shows %s as it stands, and prints what the page says",
    async (file) => {
      const { code, output } = shown(file.slice(0, -".ts".length));
      expect(code, `README.md has no <!-- example --> block for ${file}`).toBeDefined();
      expect(code).toBe(asShown(file));
      const folder = tempFolder();
      try {
        const { stdout } = await run(tsx, [join(root, "examples", file)], { cwd: folder.path });
        expect(stdout).toBe(output);
      } finally {
        folder.remove();
      }
    },
    60_000,
  );

  it("the caching example answers its first pass from the file when run again", async () => {
    const folder = tempFolder();
    try {
      const example = join(root, "examples", "request-cache.ts");
      await run(tsx, [example], { cwd: folder.path });
      const { stdout } = await run(tsx, [example], { cwd: folder.path });
      expect(stdout).toBe("pass 1: 22 requests, 0 reached the API\npass 2: 22 requests, 0 reached the API\n");
    } finally {
      folder.remove();
    }
  }, 60_000);
});
