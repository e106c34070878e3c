import type { AnyRepository } from "../../cache/cache.js";
import type { CacheEntry } from "../../cache/entry.js";
import { HTTP_REPOSITORY, HttpRepositorySettings } from "../../cache/http-settings.js";
import { DEFAULT_CREDENTIAL_PARAMS, redactHeaders, redactUrl } from "../../credentials.js";
import type { Key, KeyPart } from "../../types.js";
import type { Command } from "../command.js";
import { REPOSITORY_OPTION, repositoryNames } from "../command.js";
import type { Context } from "../context.js";
import { payloadSize } from "../entries.js";
import { formatBytes, formatInstant, formatRelative } from "../format.js";
import { EXIT_FAILED, EXIT_OK, UsageError } from "../terminal.js";

const PREVIEW_LINES = 40;
const HEX_BYTES = 128;

export const show: Command = {
  name: "show",
  summary: "one entry's head and a body preview; which repository and key a URL maps to",
  help: `Usage: requestful show KEY|URL [--repository R]... [--json]

KEY is an entry's key as JSON, as ls prints it: '["GET","42","v1"]'. URL is the URL a response
was saved from: every repository is searched for entries stored under it, and each one found is
shown with the repository and key it maps to, live or expired — a dry run of routing that tells
why a request missed. Shows the stored status, headers (credentials redacted) and a preview of the
body: JSON pretty-printed, text as it is, binary as a hex dump of its first ${HEX_BYTES} bytes.
Exit status 1 when nothing is found.

Options:
  -r, --repository R   only this repository (repeatable)`,
  options: { ...REPOSITORY_OPTION },
  positionals: 1,
  async run(context, values, positionals) {
    const target = positionals[0];
    if (target === undefined) throw new UsageError("show needs a KEY (as JSON) or a URL; see requestful show --help");
    const cache = await context.open();
    const repositories = context.select(cache, repositoryNames(values));
    const found: { repository: AnyRepository; entry: CacheEntry }[] = [];
    if (target.startsWith("[")) {
      let key: unknown;
      try {
        key = JSON.parse(target);
      } catch {
        throw new UsageError(`KEY must be a JSON array such as '["GET","42"]', got ${target}`);
      }
      if (!Array.isArray(key)) throw new UsageError(`KEY must be a JSON array, got ${target}`);
      for (const repository of repositories) {
        if (repository.settings.fields.length !== key.length - 1) continue;
        const entry = await repository.getEntry(key, { includeExpired: true });
        if (entry !== undefined) found.push({ repository, entry });
      }
    } else {
      try {
        new URL(target);
      } catch {
        throw new UsageError(`show takes a KEY as a JSON array or an absolute URL, got ${JSON.stringify(target)}`);
      }
      const stored = redactUrl(target); // stored URLs have their credentials redacted
      for (const repository of repositories) {
        // The default HTTP repository's key is made from the URL alone: route it as a session would.
        const key = defaultRepositoryKey(repository, target);
        if (key !== undefined) {
          const entry = await repository.getEntry(key, { includeExpired: true });
          if (entry !== undefined) {
            found.push({ repository, entry });
            continue;
          }
        }
        // Entries saved from the URL, in any partition: stored as it is, or with its credentials redacted.
        for await (const entry of repository.list()) {
          if (entry.url === target || entry.url === stored) found.push({ repository, entry });
        }
      }
    }
    const now = cache.now();
    if (context.json) {
      const shown = found.map(({ repository, entry }) => describe(repository.name, entry, now));
      await context.out(`${JSON.stringify({ target: redactUrl(target), found: shown }, null, 2)}\n`);
      return found.length > 0 ? EXIT_OK : EXIT_FAILED;
    }
    if (found.length === 0) {
      await explainMiss(context, target, repositories);
      return EXIT_FAILED;
    }
    for (const { repository, entry } of found) await print(context, repository.name, entry, now);
    return EXIT_OK;
  },
};

function describe(repository: string, entry: CacheEntry, now: number): Record<string, unknown> {
  return {
    repository,
    key: entry.key,
    name: entry.name,
    status: entry.status,
    cachedAt: new Date(entry.cachedAt).toISOString(),
    expiresAt: new Date(entry.expiresAt).toISOString(),
    expired: entry.expiresAt <= now,
    url: entry.url === null ? null : redactUrl(entry.url),
    headers: headerPairs(entry),
    size: payloadSize(entry),
    body: preview(entry),
  };
}

function headerPairs(entry: CacheEntry): [string, string][] {
  if (entry.headers === null) return [];
  try {
    return redactHeaders(JSON.parse(entry.headers) as [string, string][]);
  } catch {
    return [["(unreadable)", entry.headers]];
  }
}

/** A preview of the body: JSON pretty-printed, text, or a hex dump of the start of binary data. */
function preview(entry: CacheEntry): { kind: "json" | "text" | "binary"; lines: string[]; truncated: boolean } {
  const { payload } = entry;
  let text: string | undefined;
  if (typeof payload === "string") text = payload;
  else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(payload);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters mark binary data.
      if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) text = undefined;
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) {
    const bytes = payload as Uint8Array;
    const lines: string[] = [];
    for (let offset = 0; offset < Math.min(bytes.length, HEX_BYTES); offset += 16) {
      const row = bytes.subarray(offset, Math.min(offset + 16, HEX_BYTES));
      const hex = [...row].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
      lines.push(`${offset.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
    }
    return { kind: "binary", lines, truncated: bytes.length > HEX_BYTES };
  }
  let kind: "json" | "text" = "text";
  let lines = text.split("\n");
  try {
    lines = JSON.stringify(JSON.parse(text), null, 2).split("\n");
    kind = "json";
  } catch {
    // not JSON: shown as text
  }
  return { kind, lines: lines.slice(0, PREVIEW_LINES), truncated: lines.length > PREVIEW_LINES };
}

async function print(context: Context, repository: string, entry: CacheEntry, now: number): Promise<void> {
  const { paint } = context;
  const expired = entry.expiresAt <= now;
  const body = preview(entry);
  const label = (text: string) => paint("bold", text.padEnd(11));
  let text =
    `${label("repository")}${repository}\n` +
    `${label("key")}${JSON.stringify(entry.key)}\n` +
    (entry.name === null ? "" : `${label("name")}${entry.name}\n`) +
    `${label("url")}${entry.url === null ? "-" : redactUrl(entry.url)}\n` +
    `${label("status")}${entry.status ?? "-"}\n` +
    `${label("cached")}${formatInstant(entry.cachedAt)} (${formatRelative(entry.cachedAt, now)})\n` +
    `${label("expires")}${formatInstant(entry.expiresAt)} (${formatRelative(entry.expiresAt, now)})` +
    `${expired ? ` ${paint("yellow", "expired")}` : ` ${paint("green", "live")}`}\n`;
  const headers = headerPairs(entry);
  if (headers.length > 0) {
    text += `${paint("bold", "headers")}\n${headers.map(([name, value]) => `  ${name}: ${value}\n`).join("")}`;
  }
  text += `${paint("bold", "body")} ${formatBytes(payloadSize(entry))}, ${body.kind}\n`;
  text += body.lines.map((line) => `  ${line}\n`).join("");
  if (body.truncated) text += `  ${paint("dim", "…")}\n`;
  await context.out(`${text}\n`);
}

async function explainMiss(context: Context, target: string, repositories: AnyRepository[]): Promise<void> {
  const what = target.startsWith("[") ? `key ${target}` : `URL ${redactUrl(target)}`;
  let text = `no entry for ${what} in any of ${repositories.length} repositories\n`;
  for (const repository of repositories) {
    const fields = ["method", ...repository.settings.fields].join(", ");
    text += `  ${repository.name}: keyed by (${fields}), ${await repository.count()} entries\n`;
    const key = target.startsWith("[") ? undefined : defaultRepositoryKey(repository, target);
    if (key !== undefined) text += `    a GET of this URL without credentials is keyed ${JSON.stringify(key)}\n`;
  }
  if (!target.startsWith("[")) {
    text +=
      "The application's repositoryGetter picks a repository for a URL and its settings make the key; an entry\n" +
      "is found by that key only. Look for the key with `requestful ls --match` and a glob of the URL.\n";
  }
  context.terminal.stderr.write(text);
}

/**
 * The key a session gives a GET of `url` without credentials in the default HTTP repository, or
 * `undefined` when the repository is not one (its key is the application's code, not data).
 */
function defaultRepositoryKey(repository: AnyRepository, url: string): Key | undefined {
  if (repository.name !== HTTP_REPOSITORY || repository.settings.fields.join() !== HTTP_FIELDS) return undefined;
  const settings = new HttpRepositorySettings({ dropParams: DEFAULT_CREDENTIAL_PARAMS });
  const parts = settings.getKey({ method: "GET", url: new URL(url), headers: new Headers() });
  return ["GET", ...(parts as KeyPart[])] as Key;
}

const HTTP_FIELDS = new HttpRepositorySettings().fields.join();
