import { writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { SQLiteCache } from "../../src/index.js";
import { tempFolder } from "../helpers/temp.js";
import { API, cli, fill, ndjson } from "./cli.js";

const folder = tempFolder("requestful-cli-");
afterAll(() => folder.remove());

let store: string;
let count = 0;
beforeEach(async () => {
  store = join(folder.path, `cache-${++count}.sqlite`);
  const cache = SQLiteCache.connect(store);
  await fill(cache);
  await cache.close();
});

const run = (...args: string[]) => cli(["--cache", store, ...args]);

// Each test starts the command line several times, a second or two each on a busy machine.
describe("requestful on an SQLite file", { timeout: 120_000 }, () => {
  it("stats: a table per repository and the file's size, or one JSON document", async () => {
    const table = await run("stats");
    expect(table.code).toBe(0);
    const lines = table.stdout.split("\n");
    expect(lines.find((l) => l.startsWith("REPOSITORY"))).toMatch(/^REPOSITORY\s+ENTRIES\s+LIVE\s+EXPIRED\s+PAYLOAD/);
    expect(lines.find((l) => l.startsWith("tracks"))).toMatch(/^tracks\s+5\s+3\s+2\s+\d+ B\s+2d 12h ago\s+1h 0m ago/);
    expect(table.stdout).toMatch(/store: [\d.]+ KiB \(file\)/);
    expect(table.stdout).not.toContain("\u001b["); // no colour when piped

    const json = await run("stats", "--json");
    const doc = JSON.parse(json.stdout);
    expect(doc.backend).toBe("sqlite");
    expect(doc.store.measured).toBe("file");
    const tracks = doc.repositories.find((r: { name: string }) => r.name === "tracks");
    expect(tracks).toMatchObject({ entries: 5, live: 3, expired: 2, fields: ["id"], expire: { days: 1 } });
    const images = doc.repositories.find((r: { name: string }) => r.name === "images");
    expect(images).toMatchObject({ entries: 1, payloadBytes: 12 });
  });

  it("ls: aligned lines with redacted URLs, NDJSON with --json, and every filter", async () => {
    const table = await run("ls", "--repository", "tracks");
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(6);
    const urlColumn = (lines[0] as string).indexOf("URL");
    for (const line of lines.slice(1)) expect(line.indexOf("https://")).toBe(urlColumn);
    expect(table.stdout).toContain(`${API}/v1/tracks/9?api_key=REDACTED`);
    expect(table.stdout).not.toContain("s3cret");
    expect(table.stdout).toMatch(/expired 1d 12h ago/);

    const all = ndjson((await run("ls", "--json")).stdout);
    expect(all).toHaveLength(7);
    const expired = ndjson((await run("ls", "--json", "--expired")).stdout);
    expect(expired.map((e) => e.key)).toEqual(
      expect.arrayContaining([
        ["GET", "8"],
        ["GET", "9"],
      ]),
    );
    expect(expired.every((e) => e.expired === true)).toBe(true);
    expect(ndjson((await run("ls", "--json", "--live")).stdout)).toHaveLength(5);
    const matched = ndjson((await run("ls", "--json", "--match", `${API}/v1/tracks/?`)).stdout);
    expect(matched.map((e) => e.key)).toEqual(
      expect.arrayContaining([
        ["GET", "1"],
        ["GET", "8"],
      ]),
    );
    expect(matched).toHaveLength(4);
    expect(ndjson((await run("ls", "--json", "--older-than", "1d")).stdout)).toHaveLength(2);
    expect(ndjson((await run("ls", "--json", "--limit", "3")).stdout)).toHaveLength(3);
    expect((await run("ls", "--match", "https://none/*")).stdout).toBe("no entries\n");
  });

  it("show: the head and a JSON, text or binary preview, by URL or by key", async () => {
    const byUrl = await run("show", `${API}/v1/tracks/2`);
    expect(byUrl.code).toBe(0);
    expect(byUrl.stdout).toMatch(/^repository tracks\nkey {8}\["GET","2"\]\n/);
    expect(byUrl.stdout).toContain("set-cookie: REDACTED");
    expect(byUrl.stdout).toContain("body 44 B, json\n");
    expect(byUrl.stdout).toContain('  {\n    "id": "2",\n    "name": "Track 2",');

    const binary = await run("show", '["GET","logo"]', "--repository", "images");
    expect(binary.stdout).toContain("12 B, binary");
    expect(binary.stdout).toContain("00000000  89 50 4e 47 0d 0a 1a 0a 00 ff 80 07");

    const text = await run("show", '["GET","hello"]', "--json");
    const doc = JSON.parse(text.stdout);
    expect(doc.found[0]).toMatchObject({ repository: "notes", status: 201, body: { kind: "text" } });
    expect(doc.found[0].body.lines).toEqual(["héllo, wörld", "second line"]);

    const withSecret = await run("show", `${API}/v1/tracks/9?api_key=s3cret`);
    expect(withSecret.stdout).toContain("api_key=REDACTED");
    expect(withSecret.stdout).toMatch(/expired/);
  });

  it("show: a URL no entry holds is a miss that names the repositories and their keys, exit 1", async () => {
    const miss = await run("show", `${API}/v2/tracks/1`);
    expect(miss.code).toBe(1);
    expect(miss.stderr).toContain(`no entry for URL ${API}/v2/tracks/1 in any of 3 repositories`);
    expect(miss.stderr).toContain("tracks: keyed by (method, id), 5 entries");
    expect(JSON.parse((await run("show", '["GET","nope"]', "--json")).stdout).found).toEqual([]);
    expect((await run("show", "not a url")).code).toBe(2);
  });

  it("purge: --dry-run counts, filters remove exactly their entries", async () => {
    const dry = await run("purge", "--expired", "--dry-run", "--json");
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, matching: 2 });
    expect(ndjson((await run("ls", "--json")).stdout)).toHaveLength(7);

    const expired = await run("purge", "--expired", "--batch-size", "1");
    expect(expired.code).toBe(0);
    expect(expired.stdout).toMatch(/^REPOSITORY\s+REMOVED\n/);
    expect(expired.stdout).toContain("removed 2 entries");
    expect(expired.stderr).toBe(""); // no progress bar on a pipe

    const glob = await run("purge", "--match", "*/tracks/1", "--json");
    expect(JSON.parse(glob.stdout)).toMatchObject({ removed: 1 });
    const old = await run("purge", "--older-than", "90m", "--repository", "tracks", "--json");
    expect(JSON.parse(old.stdout)).toMatchObject({ removed: 2 });
    expect(ndjson((await run("ls", "--json", "-r", "tracks")).stdout)).toEqual([]);
  });

  it("purge: refuses to remove everything without a terminal to ask on, unless --yes", async () => {
    const none = await run("purge");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("purge needs to be told what to remove");

    const refused = await run("purge", "--all");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("standard input is not a terminal to ask on: add --yes");
    const alsoRefused = await run("purge", "--repository", "notes");
    expect(alsoRefused.code).toBe(2);
    expect(ndjson((await run("ls", "--json")).stdout)).toHaveLength(7);

    const dry = await run("purge", "--all", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("dry run: would remove 7 entries");

    const yes = await run("purge", "--all", "--yes");
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain("removed 7 entries");
    expect((await run("ls")).stdout).toBe("no entries\n");
    expect((await run("purge", "--all", "--expired")).code).toBe(2);
  });

  it("verify: finds an entry corrupted in the file, and --fix removes it", async () => {
    const clean = await run("verify");
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe("store: ok\nentries: 7 checked, none broken\n");

    const db = new BetterSqlite3(store);
    db.prepare(`UPDATE "tracks" SET "payload" = '{"id": "2", trunc' WHERE "id" = '2'`).run();
    db.prepare(`UPDATE "notes" SET "headers" = 'not json' WHERE "id" = 'hello'`).run();
    db.close();

    const found = await run("verify");
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/tracks\s+\["GET","2"\]\s+https:\/\/api\.example\.com\/v1\/tracks\/2\s+payload: /);
    expect(found.stdout).toMatch(/notes\s+\["GET","hello"\].*headers: not JSON text/);
    expect(found.stdout).toContain("2 broken (run with --fix to remove them)");

    const fixed = await run("verify", "--fix", "--json");
    expect(fixed.code).toBe(1); // something was wrong, even though it is fixed now
    expect(JSON.parse(fixed.stdout)).toMatchObject({ ok: false, checked: 7, broken: 2, removed: 2, store: [] });
    const after = await run("verify");
    expect(after.code).toBe(0);
    expect(after.stdout).toContain("entries: 5 checked, none broken");
  });

  it("verify: reports SQLite's own integrity check", async () => {
    const db = new BetterSqlite3(store);
    // An index that no longer matches its table: PRAGMA integrity_check reports it.
    db.unsafeMode(true);
    db.pragma("writable_schema = ON");
    db.prepare(
      "UPDATE sqlite_schema SET sql = replace(sql, '\"expires_at\"', '\"cached_at\"') WHERE type = 'index' AND tbl_name = 'tracks'",
    ).run();
    db.close();
    const result = await run("verify", "--json");
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout);
    expect(doc.store.length).toBeGreaterThan(0);
  });

  it("compact: the size before and after", async () => {
    await run("purge", "--all", "--yes");
    const result = await run("compact", "--json");
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.before.measured).toBe("file");
    expect(doc.after.bytes).toBeLessThanOrEqual(doc.before.bytes);
    expect((await run("compact")).stdout).toMatch(/^file: [\d.]+ KiB before, [\d.]+ KiB after/);
  });

  it("export and import: a file round trip into a new SQLite store, every line equal", async () => {
    const file = join(folder.path, `export-${count}.ndjson`);
    const exported = await run("export", "--output", file);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe(`exported 7 entries to ${file}\n`);
    const target = join(folder.path, `import-${count}.sqlite`);
    const imported = await cli(["import", file, "--cache", target, "--json"]);
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ entries: 7, aborted: false });
    const again = await cli(["export", target]);
    const sorted = (text: string) => text.trim().split("\n").slice(1).sort();
    const original = await run("export");
    expect(sorted(again.stdout)).toEqual(sorted(original.stdout));
    expect(original.stderr).toBe("exported 7 entries\n");
  });

  it("import: refuses a file of a newer format, naming the versions", async () => {
    const file = join(folder.path, `newer-${count}.ndjson`);
    writeFileSync(file, `${JSON.stringify({ format: "requestful-export", version: 99, entries: 0 })}\n`);
    const result = await cli(["import", file, "--cache", join(folder.path, `newer-${count}.sqlite`)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "requestful import: the export was written in format version 99, newer than this release of requestful " +
        "reads (1); upgrade requestful to import it\n",
    );
  });

  it("names the store with REQUESTFUL_CACHE, else the default file, and says when there is none", async () => {
    const fromEnv = await cli(["ls", "--json"], { env: { REQUESTFUL_CACHE: store } });
    expect(ndjson(fromEnv.stdout)).toHaveLength(7);
    const cwd = tempFolder("requestful-cli-cwd-");
    try {
      const missing = await cli(["stats"], { cwd: cwd.path });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`no cache at ${join(cwd.path, ".cache/requestful.sqlite")}`);
    } finally {
      cwd.remove();
    }
  });
});

describe("requestful's usage", { timeout: 120_000 }, () => {
  it("--help on every command, --version, and exit 2 for usage errors", async () => {
    const main = await cli(["--help"]);
    expect(main.code).toBe(0);
    for (const command of ["stats", "ls", "show", "purge", "verify", "compact", "export", "import"]) {
      expect(main.stdout).toContain(`  ${command} `);
      const help = await cli([command, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: requestful ${command}`);
      expect(help.stdout).toContain("Exit status: 0 ok; 1");
    }
    const version = await cli(["--version"]);
    expect(version.stdout).toMatch(/^requestful \d+\.\d+\.\d+\n$/);
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"; expected one of stats, ls, show');
    const badOption = await cli(["ls", "--frob"]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("Unknown option '--frob'");
    const badValue = await cli(["ls", "--limit", "many"]);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('--limit takes a whole number of 0 or more, got "many"');
    expect((await cli([])).code).toBe(2);
  });
});
