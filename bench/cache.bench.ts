/**
 * Repository speed on SQLite and memory, each beside a raw floor measured in the same run:
 * a prepared better-sqlite3 statement plus JSON.parse / JSON.stringify on a table of the same
 * shape and settings, and a plain Map of JSON text.
 */
import { join } from "node:path";
import {
  type AnyRepository,
  type JSONValue,
  type Key,
  MemoryCache,
  type ResponseCache,
  SQLiteCache,
} from "../src/index.js";
import { tempFolder } from "../test/helpers/temp.js";
import { type Floor, mapFloor, sqliteFloor } from "./floors.js";
import { jsonPayload, keyOnlySettings, type Measurement, measure, measureBatch, report } from "./util.js";

const TARGET = 1.5;

const settings = () => keyOnlySettings();

function payloads(count: number, prefix: string): [Key, JSONValue][] {
  return Array.from({ length: count }, (_, i) => [["GET", `${prefix}${i}`], jsonPayload(1024, i) as JSONValue]);
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

  // Writers at once (a session storing many misses): on SQLite they share the syncs of the log.
  const inFlight = 64;
  rows.push({
    floor: await measureBatch(`${floorName}: save one, ${inFlight} in turn (per entry)`, inFlight, () => {
      for (let w = 0; w < inFlight; w++) floor.save(["GET", `one${n++ % 5_000}`], value);
    }),
    subject: await measureBatch(`saveResponse, ${inFlight} in flight (per entry)`, inFlight, () =>
      Promise.all(Array.from({ length: inFlight }, () => repo.saveResponse([["GET", `one${n++ % 5_000}`], value]))),
    ),
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
