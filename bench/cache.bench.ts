/**
 * Repository speed on SQLite and memory, each beside a raw floor measured in the same run:
 * a prepared better-sqlite3 statement plus JSON.parse / JSON.stringify on a table of the same
 * shape and settings, and a plain Map of JSON text.
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import {
  type AnyRepository,
  defineSettings,
  JSONPayloadHandler,
  type JSONValue,
  type Key,
  MemoryCache,
  type ResponseCache,
  SQLiteCache,
} from "../src/index.js";
import { tempFolder } from "../test/helpers/temp.js";
import { jsonPayload, type Measurement, measure, measureBatch, report } from "./util.js";

const TARGET = 1.5;

const settings = () =>
  defineSettings<JSONValue>({
    name: "tracks",
    fields: ["id"],
    getKey: () => [null],
    payloadHandler: new JSONPayloadHandler(),
  });

function payloads(count: number, prefix: string): [Key, JSONValue][] {
  return Array.from({ length: count }, (_, i) => [["GET", `${prefix}${i}`], jsonPayload(1024, i) as JSONValue]);
}

/** The floor for SQLite: the statements a hand-written cache would prepare, on the same kind of file. */
function sqliteFloor(path: string) {
  const db = new BetterSqlite3(path, { timeout: 5_000 });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = full");
  db.exec(`CREATE TABLE IF NOT EXISTS t ("method" NOT NULL, "id" NOT NULL, "name" TEXT, "cached_at" INTEGER NOT NULL,
    "expires_at" INTEGER NOT NULL, "payload" NOT NULL, "status" INTEGER, "headers" TEXT, "url" TEXT,
    PRIMARY KEY ("method", "id"));
    CREATE INDEX IF NOT EXISTS t_expires ON t ("expires_at");`);
  const select = db.prepare(`SELECT "payload" FROM t WHERE "expires_at" > ? AND "method" = ? AND "id" = ?`).pluck();
  const upsert = db.prepare(
    `INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("method", "id") DO UPDATE SET
     "name" = excluded."name", "cached_at" = excluded."cached_at", "expires_at" = excluded."expires_at",
     "payload" = excluded."payload", "status" = excluded."status", "headers" = excluded."headers", "url" = excluded."url"`,
  );
  const week = 7 * 86_400_000;
  const save = (key: Key, value: JSONValue) => {
    const now = Date.now();
    upsert.run(key[0], key[1], null, now, now + week, JSON.stringify(value), null, null, null);
  };
  const saveMany = db.transaction((entries: [Key, JSONValue][]) => {
    for (const [key, value] of entries) save(key, value);
  });
  const get = (key: Key) => {
    const text = select.get(Date.now(), key[0], key[1]) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  };
  return { db, save, saveMany: (entries: [Key, JSONValue][]) => saveMany.immediate(entries), get };
}

function mapFloor() {
  const map = new Map<string, string>();
  const id = (key: Key) => `${key[0]} ${key[1]}`;
  return {
    save: (key: Key, value: JSONValue) => map.set(id(key), JSON.stringify(value)),
    saveMany: (entries: [Key, JSONValue][]) => {
      for (const [key, value] of entries) map.set(id(key), JSON.stringify(value));
    },
    get: (key: Key) => {
      const text = map.get(id(key));
      return text === undefined ? undefined : JSON.parse(text);
    },
  };
}

interface Floor {
  save(key: Key, value: JSONValue): unknown;
  saveMany(entries: [Key, JSONValue][]): unknown;
  get(key: Key): unknown;
}

async function compare(title: string, cache: ResponseCache, floor: Floor, floorName: string) {
  const repo = cache.createRepository(settings()) as AnyRepository;
  await cache.connect();
  const rows: { subject: Measurement; floor: Measurement; target: number }[] = [];

  const hot = payloads(1_000, "hot");
  floor.saveMany(hot);
  await repo.saveResponses(hot);
  let i = 0;
  const nextKey = () => (hot[i++ % hot.length] as [Key, JSONValue])[0];
  rows.push({
    floor: await measure(`${floorName}: get hit`, () => floor.get(nextKey())),
    subject: await measure("getResponse hit", () => repo.getResponse(nextKey())),
    target: TARGET,
  });

  let n = 0;
  const value = jsonPayload(1024) as JSONValue;
  rows.push({
    floor: await measure(`${floorName}: save one`, () => floor.save(["GET", `one${n++ % 5_000}`], value)),
    subject: await measure("saveResponse", () => repo.saveResponse([["GET", `one${n++ % 5_000}`], value])),
    target: TARGET,
  });

  for (const size of [1_000, 10_000]) {
    const batch = payloads(size, `bulk${size}-`);
    const keys = batch.map(([key]) => key);
    rows.push({
      floor: await measureBatch(`${floorName}: save ${size} (per entry)`, size, () => floor.saveMany(batch), 5),
      subject: await measureBatch(`saveResponses ${size} (per entry)`, size, () => repo.saveResponses(batch), 5),
      target: TARGET,
    });
    rows.push({
      floor: await measureBatch(`${floorName}: get ${size} (per entry)`, size, () => keys.map(floor.get), 5),
      subject: await measureBatch(
        `getResponses ${size} (per entry)`,
        size,
        async () => {
          const found = await repo.getResponses(keys);
          if (found.length !== size) throw new Error(`expected ${size} hits, got ${found.length}`);
        },
        5,
      ),
      target: TARGET,
    });
  }
  await cache.close();
  report(title, rows);
}

export async function run(): Promise<void> {
  const folder = tempFolder("requestful-bench-");
  try {
    const floor = sqliteFloor(join(folder.path, "floor.sqlite"));
    await compare(
      "SQLite (file, WAL, synchronous=full), 1 KB JSON payloads",
      SQLiteCache.connectWithPath(join(folder.path, "cache")),
      floor,
      "raw better-sqlite3",
    );
    floor.db.close();
    await compare("memory, 1 KB JSON payloads", new MemoryCache({ maxEntries: 100_000 }), mapFloor(), "plain Map");
  } finally {
    folder.remove();
  }
}
