/** Runs the `requestful` command line as a user would: a child process, with its output and exit status. */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  BytesPayloadHandler,
  type CacheEntry,
  defineSettings,
  JSONPayloadHandler,
  type ResponseCache,
  StringPayloadHandler,
} from "../../src/index.js";

export const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
/** tsx's loader by its full path, so that a child started in another folder finds it. */
export const TSX = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/loader.mjs"),
).href;
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
}

/** The environment of a child: no store named, no colour forced either way. */
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REQUESTFUL_CACHE;
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** `requestful ARGS` through tsx, standard input from `input` (or closed). */
export function cli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: childEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** A shell command line that runs `requestful ARGS` (for pipes and pseudo-terminals). */
export function shellCommand(args: readonly string[]): string {
  const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
  return [process.execPath, "--import", TSX, MAIN, ...args].map(quote).join(" ");
}

export { childEnv, ROOT };

export const API = "https://api.example.com";
export const HOUR = 3_600_000;

/** Settings like an application's: tracks keyed by id (JSON), images keyed by id (bytes), notes (text). */
export function addRepositories(cache: ResponseCache) {
  const idOf = ({ url }: { url: URL }) => [url.pathname.split("/")[3]];
  return {
    tracks: cache.createRepository(
      defineSettings({ name: "tracks", fields: ["id"], getKey: idOf, payloadHandler: new JSONPayloadHandler() }),
      { expire: { days: 1 } },
    ),
    images: cache.createRepository(
      defineSettings({ name: "images", fields: ["id"], getKey: idOf, payloadHandler: new BytesPayloadHandler() }),
    ),
    notes: cache.createRepository(
      defineSettings({ name: "notes", fields: ["id"], getKey: idOf, payloadHandler: new StringPayloadHandler() }),
    ),
  };
}

/**
 * Fills a cache: tracks 1–3 live and 8–9 expired (9 with a credential in its URL), one PNG-like
 * image, one note. Instants are whole and fractional milliseconds around `now`.
 */
export async function fill(cache: ResponseCache, now = Date.now()): Promise<void> {
  const { tracks, images, notes } = addRepositories(cache);
  await cache.connect();
  const track = (id: string, cachedAt: number, expiresAt: number, url = `${API}/v1/tracks/${id}`): CacheEntry => ({
    key: ["GET", id],
    name: `Track ${id}`,
    cachedAt,
    expiresAt,
    payload: JSON.stringify({ id, name: `Track ${id}`, tags: ["a", "b"] }),
    status: 200,
    headers: JSON.stringify([
      ["content-type", "application/json"],
      ["set-cookie", "session=secret"],
    ]),
    url,
    meta: null,
  });
  await tracks.saveEntries([
    track("1", now - HOUR, now + 23 * HOUR),
    track("2", now - 2 * HOUR, now + 22 * HOUR + 0.5),
    track("3", now - 3 * HOUR, now + 21 * HOUR),
    track("8", now - 50 * HOUR, now - 26 * HOUR),
    track("9", now - 60 * HOUR, now - 36 * HOUR, `${API}/v1/tracks/9?api_key=s3cret`),
  ]);
  await images.saveEntries([
    {
      key: ["GET", "logo"],
      name: null,
      cachedAt: now - HOUR,
      expiresAt: now + 100 * HOUR,
      payload: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255, 128, 7]),
      status: 200,
      headers: JSON.stringify([["content-type", "image/png"]]),
      url: "https://cdn.example.com/v1/images/logo",
      meta: null,
    },
  ]);
  await notes.saveEntries([
    {
      key: ["GET", "hello"],
      name: null,
      cachedAt: now - HOUR,
      expiresAt: now + HOUR,
      payload: "héllo, wörld\nsecond line",
      status: 201,
      headers: null,
      url: "https://notes.example.com/v1/notes/hello",
      meta: null,
    },
  ]);
}

/** The objects of NDJSON text, one a line. */
export const ndjson = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
