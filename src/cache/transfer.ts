import { describeValue } from "../describe.js";
import { CacheError } from "../errors.js";
import type { BatchOptions } from "./admin.js";
import { batchSizeOf } from "./admin.js";
import type { AnyRepository, ResponseCache } from "./cache.js";
import type { CacheEntry } from "./entry.js";
import { checkRecord, type RepositoryRecord, recordOf } from "./records.js";

/** The name in the first line of every export. */
export const EXPORT_FORMAT = "requestful-export";
/** The version of the export format that this release writes, and the newest it reads. */
export const EXPORT_VERSION = 1;

/** Options of {@link exportCache}. */
export interface ExportOptions extends Omit<BatchOptions, "batchSize"> {
  /**
   * The repositories to export, by name.
   * @default every repository of the cache
   * @example ["tracks"]
   */
  repositories?: readonly string[];
}

/** What an import did. */
export interface ImportReport {
  /** The repositories that the file held. */
  repositories: string[];
  /** How many entries were written. */
  entries: number;
  /** Whether the work stopped early on the signal (every batch written was written whole). */
  aborted: boolean;
}

/**
 * The entries of a cache as NDJSON lines (each ending in a newline), read in batches so that memory
 * stays flat: a header with the format version and the number of entries, each repository's record
 * followed by its entries (expired ones too), and a closing line with the count, so that a file cut
 * short is known. Payloads are kept in their stored form: text as it is, bytes in base64.
 *
 * @example for await (const line of exportCache(cache)) process.stdout.write(line);
 */
export async function* exportCache(cache: ResponseCache, options: ExportOptions = {}): AsyncGenerator<string> {
  const repositories = pick(cache, options.repositories);
  let total = 0;
  for (const repository of repositories) total += await repository.count(true);
  yield line({ format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date().toISOString(), entries: total });
  let done = 0;
  for (const repository of repositories) {
    yield line({ type: "repository", ...recordOf(repository) });
    for await (const entry of repository.list()) {
      if (options.signal?.aborted) return;
      yield line(entryLine(repository.name, entry));
      done++;
      if (done % 1_000 === 0) options.onProgress?.({ done, total });
    }
  }
  options.onProgress?.({ done, total });
  yield line({ type: "end", entries: done });
}

function pick(cache: ResponseCache, names: readonly string[] | undefined): AnyRepository[] {
  if (names === undefined) return [...cache.values()];
  return names.map((name) => {
    const repository = cache.get(name);
    if (repository === undefined) {
      throw new CacheError(
        `cache "${cache.name}" has no repository named "${name}"; it has ${[...cache.keys()].map((n) => `"${n}"`).join(", ") || "none"}`,
      );
    }
    return repository;
  });
}

function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

function entryLine(repository: string, entry: CacheEntry): Record<string, unknown> {
  const { payload } = entry;
  const meta = entry.meta;
  return {
    type: "entry",
    repository,
    key: entry.key,
    name: entry.name,
    cachedAt: entry.cachedAt,
    expiresAt: entry.expiresAt,
    status: entry.status,
    headers: entry.headers,
    url: entry.url,
    ...(meta === null ? {} : { meta }),
    ...(typeof payload === "string"
      ? { text: payload }
      : { base64: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64") }),
  };
}

/**
 * Reads an export (NDJSON lines, as {@link exportCache} writes them) into a cache, a batch at a time:
 * each batch is written whole or not at all. A repository the cache does not have is created from
 * the record in the file. A file of a newer format version, a line that is not what the format
 * says, or a file cut short is a `CacheError` naming the line.
 *
 * @example await importCache(cache, createInterface({ input: createReadStream("cache.ndjson") }));
 */
export async function importCache(
  cache: ResponseCache,
  lines: AsyncIterable<string> | Iterable<string>,
  options: BatchOptions = {},
): Promise<ImportReport> {
  const size = batchSizeOf(options);
  const report: ImportReport = { repositories: [], entries: 0, aborted: false };
  let number = 0;
  let total: number | undefined;
  let header = false;
  let ended = false;
  let repository: AnyRepository | undefined;
  let batch: CacheEntry[] = [];
  const flush = async () => {
    if (repository === undefined || batch.length === 0) return;
    report.entries += await repository.saveEntries(batch);
    batch = [];
    options.onProgress?.({ done: report.entries, total });
  };
  for await (const text of lines) {
    number++;
    if (text.trim() === "") continue;
    const fail = (what: string) => new CacheError(`line ${number} of the export ${what}`);
    if (ended) throw fail("follows its closing line");
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw fail(`is not JSON: ${describeValue(text.slice(0, 80))}`);
    }
    if (typeof value !== "object" || value === null) throw fail(`is not an object: ${describeValue(value)}`);
    if (!header) {
      checkHeader(value, number);
      header = true;
      total = typeof value.entries === "number" ? value.entries : undefined;
      continue;
    }
    switch (value.type) {
      case "repository": {
        await flush();
        const { type: _, ...rest } = value;
        const record: RepositoryRecord = checkRecord(rest, `line ${number} of the export`);
        repository = cache.get(record.name) ?? (await cache.createRecordedRepository(record));
        report.repositories.push(record.name);
        break;
      }
      case "entry": {
        if (repository === undefined || value.repository !== repository.name) {
          throw fail(`holds an entry of repository ${describeValue(value.repository)} outside its section`);
        }
        batch.push(toEntry(value, fail));
        if (batch.length >= size) {
          await flush();
          if (options.signal?.aborted) {
            report.aborted = true;
            return report;
          }
        }
        break;
      }
      case "end":
        await flush();
        if (value.entries !== report.entries) {
          throw fail(`says it closes ${describeValue(value.entries)} entries, but ${report.entries} were read`);
        }
        ended = true;
        break;
      default:
        throw fail(`has an unknown type ${describeValue(value.type)}; expected "repository", "entry" or "end"`);
    }
  }
  if (!header) throw new CacheError("the export is empty: expected a first line naming the format");
  if (!ended) {
    await flush();
    throw new CacheError(
      `the export ends after line ${number} without its closing line: it was cut short ` +
        `(${report.entries} entries before the cut were imported)`,
    );
  }
  return report;
}

function checkHeader(value: Record<string, unknown>, number: number): void {
  if (value.format !== EXPORT_FORMAT) {
    throw new CacheError(
      `line ${number} is not the start of a requestful export: expected {"format":"${EXPORT_FORMAT}",...}, ` +
        `got ${describeValue(value)}`,
    );
  }
  const version = value.version;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw new CacheError(`the export names an unreadable format version ${describeValue(version)}`);
  }
  if (version > EXPORT_VERSION) {
    throw new CacheError(
      `the export was written in format version ${version}, newer than this release of requestful reads ` +
        `(${EXPORT_VERSION}); upgrade requestful to import it`,
    );
  }
}

function toEntry(value: Record<string, unknown>, fail: (what: string) => CacheError): CacheEntry {
  const { key, name, cachedAt, expiresAt, status, headers, url, text, base64, meta } = value;
  if (!Array.isArray(key)) throw fail(`has no key array: ${describeValue(key)}`);
  const nullableString = (field: unknown, label: string) => {
    if (field !== null && typeof field !== "string") throw fail(`has a ${label} that is not text or null`);
    return field;
  };
  if (typeof cachedAt !== "number" || typeof expiresAt !== "number") {
    throw fail("has cachedAt or expiresAt that is not epoch milliseconds");
  }
  if (status !== null && typeof status !== "number") throw fail("has a status that is not a number or null");
  let payload: string | Uint8Array;
  if (typeof text === "string") payload = text;
  else if (typeof base64 === "string") payload = new Uint8Array(Buffer.from(base64, "base64"));
  else throw fail('has no payload: expected "text" or "base64"');
  const entry: CacheEntry = {
    key: key as unknown as CacheEntry["key"],
    name: nullableString(name, "name") as string | null,
    cachedAt,
    expiresAt,
    payload,
    status,
    headers: nullableString(headers, "headers") as string | null,
    url: nullableString(url, "url") as string | null,
    meta: meta === undefined ? null : (nullableString(meta, "meta") as string | null),
  };
  return entry;
}
