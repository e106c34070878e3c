import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { AnyRepository, CacheOptions } from "../cache/cache.js";
import { ResponseCache } from "../cache/cache.js";
// ResponseCache.create maps a path or URL to a backend once the factory has installed itself.
import "../cache/factory.js";
import { defaultCacheLocation } from "../cache/location.js";
import { redactUrl } from "../credentials.js";
import { type Paint, painter } from "./format.js";
import { ProgressBar } from "./progress.js";
import { colourOn, type Terminal, UsageError, write } from "./terminal.js";

/** The deadline of each call to a server backend: the command line waits longer than an application. */
const SERVER_TIMEOUT = 60_000;

/** What every command gets: the terminal, the global options, and the cache they name. */
export class Context {
  readonly terminal: Terminal;
  readonly json: boolean;
  readonly paint: Paint;
  readonly signal: AbortSignal;
  /** The store, as given or defaulted. */
  location: string;
  /** Whether `--cache` or the environment named the store. */
  readonly named: boolean;
  #cache: ResponseCache | undefined;

  constructor(terminal: Terminal, options: { json: boolean; cache: string | undefined; signal: AbortSignal }) {
    this.terminal = terminal;
    this.json = options.json;
    this.paint = painter(colourOn(terminal.stdout, terminal.env));
    this.signal = options.signal;
    const given = options.cache !== undefined && options.cache !== "" ? options.cache : undefined;
    this.location = given ?? defaultCacheLocation(terminal.env as NodeJS.ProcessEnv);
    this.named = options.cache !== undefined;
  }

  /** Uses the store given as a command's argument, unless --cache named one too. */
  useStore(location: string): void {
    if (this.named) {
      throw new UsageError(`the store is given twice: --cache ${redactUrl(this.location)} and ${redactUrl(location)}`);
    }
    this.location = location;
  }

  /** The store's name for messages: its location without credentials. */
  get label(): string {
    return redactUrl(this.location);
  }

  /**
   * Opens the cache and every repository it records. A path to a file that does not exist is an
   * error unless `create` (an import makes a new store).
   */
  async open(options: { create?: boolean } = {}): Promise<ResponseCache> {
    if (this.#cache !== undefined) return this.#cache;
    const path = sqlitePath(this.location, this.terminal.cwd);
    if (path !== undefined && options.create !== true && !existsSync(path)) {
      throw new UsageError(
        `no cache at ${path}: expected an SQLite file that requestful wrote; name the store with --cache ` +
          "(a path, sqlite:, redis:// or postgres:// URL) or the REQUESTFUL_CACHE environment variable",
      );
    }
    let location = path ?? this.location;
    // A server gets longer deadlines than an application's: a person waits on whole scans.
    const server = path === undefined && /^(rediss?|postgres(ql)?):/i.test(location);
    const settings: Record<string, unknown> = server ? { timeout: SERVER_TIMEOUT } : {};
    if (/^rediss?:/i.test(location)) {
      // The key prefix rides in the URL, as PostgreSQL's schema does: redis://host/0?prefix=myapp
      const url = new URL(location);
      const prefix = url.searchParams.get("prefix");
      if (prefix !== null) {
        settings.prefix = prefix;
        url.searchParams.delete("prefix");
        location = url.href;
      }
    }
    const cache = await ResponseCache.create(location, settings as CacheOptions);
    this.#cache = cache;
    await cache.openRecordedRepositories();
    return cache;
  }

  async close(): Promise<void> {
    await this.#cache?.close();
  }

  /** The repositories named with `--repository` (all of them when none is), checked against the cache. */
  select(cache: ResponseCache, names: readonly string[] | undefined): AnyRepository[] {
    if (names === undefined || names.length === 0) return [...cache.values()];
    return names.map((name) => {
      const repository = cache.get(name);
      if (repository === undefined) {
        const known = [...cache.keys()].map((n) => `"${n}"`).join(", ") || "none";
        throw new UsageError(`the cache at ${this.label} has no repository "${name}"; it has ${known}`);
      }
      return repository;
    });
  }

  out(text: string): Promise<void> {
    return write(this.terminal.stdout, text);
  }

  /** A progress bar on standard error, drawn only when it is a terminal (and never with --json on a pipe). */
  progress(label: string): ProgressBar {
    return new ProgressBar(this.terminal.stderr, label);
  }

  /** A note for people on standard error. */
  note(text: string): void {
    this.terminal.stderr.write(`${text}\n`);
  }
}

/** The file of an SQLite store (a plain path, `sqlite:` or `file:`), resolved against `cwd`; else undefined. */
function sqlitePath(location: string, cwd: string): string | undefined {
  if (location === ":memory:" || location.startsWith("sqlite::memory:")) return undefined;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return resolve(cwd, location);
  if (scheme === "file") return fileURLToPath(location);
  if (scheme === "sqlite") {
    const rest = location.startsWith("sqlite://") ? decodeURIComponent(location.slice(9)) : location.slice(7);
    return resolve(cwd, rest);
  }
  return undefined;
}
