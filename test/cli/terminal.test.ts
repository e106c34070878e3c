import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CacheEntry, SQLiteCache } from "../../src/index.js";
import { tempFolder } from "../helpers/temp.js";
import { childEnv, cli, fill, HOUR, shellCommand } from "./cli.js";

const folder = tempFolder("requestful-cli-tty-");
afterAll(() => folder.remove());

/** The shell's quoting of one argument. */
const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * Runs a command on a pseudo-terminal (util-linux `script`: -q no banner, -e its status is the
 * command's, /dev/null no transcript), with `keys` typed at it after a pause when given.
 */
async function onTerminal(args: string[], options: { keys?: string; env?: Record<string, string> } = {}) {
  const terminal = `script -qec ${quote(shellCommand(args))} /dev/null`;
  const line =
    options.keys === undefined ? `${terminal} </dev/null` : `(sleep 3; printf ${quote(options.keys)}) | ${terminal}`;
  try {
    const { stdout } = await promisify(execFile)("sh", ["-c", line], {
      env: childEnv({ TERM: "xterm", ...options.env }),
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, output: failed.stdout };
  }
}

let store: string;
beforeAll(async () => {
  store = join(folder.path, "tty.sqlite");
  const cache = SQLiteCache.connect(store);
  await fill(cache);
  const tracks = cache.get("tracks");
  const now = Date.now();
  const batch: CacheEntry[] = [];
  for (let i = 0; i < 20_000; i++) {
    batch.push({
      key: ["GET", `old-${i}`],
      name: null,
      cachedAt: now - 48 * HOUR,
      expiresAt: now - 24 * HOUR,
      payload: `{"i":${i}}`,
      status: 200,
      headers: null,
      url: `https://api.example.com/v1/tracks/old-${i}`,
      meta: null,
    });
  }
  await tracks?.saveEntries(batch);
  await cache.close();
});

describe("requestful on a terminal and on a pipe", { timeout: 180_000 }, () => {
  it("draws a progress bar with count, rate and ETA on a terminal, and nothing on a pipe", async () => {
    const dry = await cli(["purge", "--expired", "--dry-run", "--cache", store]);
    expect(dry.stdout).toContain("would remove 20,002 entries");
    const piped = await cli(["verify", "--cache", store]);
    expect(piped.stderr).toBe("");
    expect(piped.stdout).not.toContain("\r");

    const shown = await onTerminal(["purge", "--expired", "--batch-size", "500", "--cache", store]);
    expect(shown.code).toBe(0);
    expect(shown.output).toMatch(/purge \[[#-]{24}\] \d+% [\d,]+\/20,002 {2}[\d,]+\/s( {2}ETA \d+s)?/);
    expect(shown.output).toContain("\r\u001b[2K");
    expect(shown.output).toContain("removed 20,002 entries");
  });

  it("colours a terminal's tables, never with NO_COLOR, never on a pipe", async () => {
    const coloured = await onTerminal(["stats", "--cache", store]);
    expect(coloured.output).toContain("\u001b[1mREPOSITORY");
    const plain = await onTerminal(["stats", "--cache", store], { env: { NO_COLOR: "1" } });
    expect(plain.output).toContain("REPOSITORY");
    expect(plain.output).not.toContain("\u001b[");
    expect((await cli(["stats", "--cache", store])).stdout).not.toContain("\u001b[");
  });

  it("asks on a terminal before removing everything, and removes nothing without a yes", async () => {
    const declined = await onTerminal(["purge", "--all", "--repository", "notes", "--cache", store], { keys: "n\n" });
    expect(declined.output).toContain("Remove all 1 entries of notes from");
    expect(declined.code).toBe(1);
    expect((await cli(["ls", "-r", "notes", "--cache", store])).stdout).not.toBe("no entries\n");
    const accepted = await onTerminal(["purge", "--all", "--repository", "notes", "--cache", store], { keys: "y\n" });
    expect(accepted.code).toBe(0);
    expect(accepted.output).toContain("removed 1 entries");
  });
});
