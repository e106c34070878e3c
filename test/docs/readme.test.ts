import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempFolder } from "../helpers/temp.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");

describe("README", () => {
  it("shows the quick start exactly as examples/quick-start.ts runs it", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const block = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const example = readFileSync(join(root, "examples", "quick-start.ts"), "utf8");
    expect(block).toBeDefined();
    const body = example.slice(example.indexOf("\n", example.indexOf("*/")) + 1);
    expect(body.replace('"../src/index.js"', '"requestful"')).toBe(block);
  });

  it("runs the quick start and prints what the README says", async () => {
    const folder = tempFolder();
    try {
      const { stdout } = await run(
        join(root, "node_modules", ".bin", "tsx"),
        [join(root, "examples", "quick-start.ts")],
        {
          cwd: folder.path,
        },
      );
      expect(stdout).toBe("{ name: 'super cool song' }\n1\n");
    } finally {
      folder.remove();
    }
  }, 30_000);
});
