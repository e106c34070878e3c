/**
 * PostgreSQL backend: entries/s for saveResponses and getResponses of 10,000 1 KB JSON entries,
 * and µs per single getResponse hit, each beside the floor measured in the same run: `pg` itself
 * running one statement against a table of the same shape (one unnest INSERT … ON CONFLICT for the
 * bulk write, one SELECT … WHERE key_digest = ANY($1) for the bulk read, a one-row SELECT for the hit).
 *
 * Needs PostgreSQL at REQUESTFUL_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); it
 * works in a schema of its own and drops it at the end.
 */
import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { type AnyRepository, type Key, PostgresCache } from "../src/index.js";
import { jsonPayload, keyOnlySettings, type Measurement, report } from "./util.js";

const URL = process.env.REQUESTFUL_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const ENTRIES = 10_000;
const PAYLOAD_BYTES = 1_024;

export async function run(): Promise<void> {
  const schema = `requestful_bench_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: URL, max: 4 });
  pool.on("error", () => {});
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    console.log(`\npostgres: skipped, no server at ${URL} (${(error as Error).message})`);
    await pool.end();
    return;
  }

  // A generous deadline: a bulk call of 10,000 entries is one statement, but a busy machine is slow.
  const cache = new PostgresCache({ pool, schema, timeout: 30_000 });
  const settings = keyOnlySettings;
  const repo = cache.createRepository(settings("tracks")) as AnyRepository;
  // The floor's table is made by the backend too, so that it has exactly the same shape.
  const floorTable = cache.createRepository(settings("floor"));
  await cache.connect();
  const floor = `"${schema}"."floor"`;

  try {
    const keys: Key[] = Array.from({ length: ENTRIES }, (_, i) => ["GET", `track-${i}`]);
    const payloads = keys.map((_, i) => jsonPayload(PAYLOAD_BYTES, i));
    const pairs = keys.map((key, i) => [key, payloads[i]] as const);

    // What the floor sends: the same rows, ready to bind.
    const now = new Date().toISOString();
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const keyJson = keys.map((key) => JSON.stringify(key));
    const digests = keyJson.map((json) => createHash("sha256").update(json).digest());
    const rows = keys.map((key, i) => [
      key[0],
      String(key[1]),
      null,
      now,
      later,
      null,
      null,
      null,
      JSON.stringify(payloads[i]),
      null,
      true,
      keyJson[i],
      digests[i],
    ]);
    const columnNames =
      '"method", "id", "name", "cached_at", "expires_at", "status", "url", "headers", "payload", ' +
      '"payload_bytes", "payload_is_text", "key_json", "key_digest"';
    const onConflict =
      'ON CONFLICT ("key_digest") DO UPDATE SET "payload" = excluded."payload", ' +
      '"cached_at" = excluded."cached_at", "expires_at" = excluded."expires_at"';
    const floorUnnest = {
      name: "bench_floor_unnest",
      text:
        `INSERT INTO ${floor} (${columnNames}) ` +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], " +
        "$6::integer[], $7::text[], $8::jsonb[], $9::text[], $10::bytea[], $11::boolean[], $12::text[], $13::bytea[]) " +
        onConflict,
      values: Array.from({ length: 13 }, (_, column) => rows.map((row) => row[column])),
    };
    // The most rows a multi-row VALUES may carry under the 65,535-parameter limit, in one transaction.
    const width = 13;
    const perStatement = Math.floor(65_535 / width);
    const floorValues = async () => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        for (let start = 0; start < rows.length; start += perStatement) {
          const part = rows.slice(start, start + perStatement);
          const tuples = part.map((_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`)})`);
          await client.query(
            `INSERT INTO ${floor} (${columnNames}) VALUES ${tuples.join(", ")} ${onConflict}`,
            part.flat(),
          );
        }
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    };
    const floorSelect = {
      name: "bench_floor_select",
      rowMode: "array" as const,
      text: `SELECT "key_json", "payload", "payload_bytes" FROM ${floor} WHERE "key_digest" = ANY($1::bytea[]) AND "expires_at" > $2`,
      values: [digests, now],
    };

    const floorEntries = {
      name: "bench_floor_entries",
      rowMode: "array" as const,
      text:
        `SELECT "key_json", "name", date_part('epoch', "cached_at"), date_part('epoch', "expires_at"), "payload", ` +
        `"payload_bytes", "payload_is_text", "status", "headers"::text, "url" FROM ${floor} ` +
        `WHERE "key_digest" = ANY($1::bytea[]) AND "expires_at" > $2`,
      values: [digests, now],
    };

    const [floorUnnestWrite, floorValuesWrite, write] = await interleaved(ENTRIES, 7, [
      ["pg: one unnest INSERT … ON CONFLICT", () => pool.query(floorUnnest)],
      ["pg: multi-row INSERT … ON CONFLICT", floorValues],
      ["repository.saveResponses", () => repo.saveResponses(pairs)],
    ]);

    const [floorRead, floorEntriesRead, floorParsed, entriesRead, read] = await interleaved(ENTRIES, 9, [
      [
        "pg: one SELECT key, payload … WHERE key_digest = ANY($1)",
        async () => {
          const { rows } = await pool.query(floorSelect);
          if (rows.length !== ENTRIES) throw new Error(`floor read ${rows.length} rows`);
        },
      ],
      [
        "pg: the same, every column of an entry",
        async () => {
          const { rows } = await pool.query(floorEntries);
          if (rows.length !== ENTRIES) throw new Error(`floor read ${rows.length} rows`);
        },
      ],
      [
        "pg: one SELECT key, payload, then JSON.parse of each",
        async () => {
          const { rows } = await pool.query(floorSelect);
          const values = rows.map((row) => JSON.parse(row[1] as string) as unknown);
          if (values.length !== ENTRIES) throw new Error(`floor read ${values.length} rows`);
        },
      ],
      [
        "repository.getEntries (payloads left as text)",
        async () => {
          const found = await repo.getEntries(keys);
          if (found.length !== ENTRIES) throw new Error(`read ${found.length} entries`);
        },
      ],
      [
        "repository.getResponses",
        async () => {
          const found = await repo.getResponses(keys);
          if (found.length !== ENTRIES) throw new Error(`read ${found.length} entries`);
        },
      ],
    ]);

    const hitKey = keys[42] as Key;
    const hitDigest = digests[42];
    const [floorHit, hit] = await interleaved(1, 2_000, [
      [
        "pg: one-row SELECT",
        async () => {
          const { rows } = await pool.query({
            name: "bench_floor_hit",
            rowMode: "array",
            text: `SELECT "payload" FROM ${floor} WHERE "key_digest" = $1 AND "expires_at" > $2`,
            values: [hitDigest, now],
          });
          if (rows.length !== 1) throw new Error("floor missed");
        },
      ],
      [
        "repository.getResponse (hit)",
        async () => {
          if ((await repo.getResponse(hitKey)) === undefined) throw new Error("missed");
        },
      ],
    ]);

    report(`postgres: ${ENTRIES.toLocaleString("en")} entries of ${PAYLOAD_BYTES} B JSON (per entry)`, [
      { subject: write, floor: floorUnnestWrite, target: 1.5 },
      { subject: write, floor: floorValuesWrite, target: 1.5 },
      { subject: read, floor: floorRead, target: 1.5 },
      { subject: entriesRead, floor: floorEntriesRead },
      { subject: read, floor: floorParsed },
    ]);
    console.log(
      `  saveResponses ${Math.round(write.opsPerSec).toLocaleString("en")} entries/s, ` +
        `getResponses ${Math.round(read.opsPerSec).toLocaleString("en")} entries/s`,
    );
    report("postgres: single hit", [{ subject: hit, floor: floorHit }]);
    void floorTable;
  } finally {
    await cache.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
}

/**
 * Measures several pieces of work in turns (one call of each, in a rotating order, per round), so
 * that a machine whose load changes during the run weighs on all of them alike. Reports per-item
 * figures from the median round of each; `batch` is the number of items one call handles.
 */
async function interleaved<const W extends readonly (readonly [label: string, work: () => unknown])[]>(
  batch: number,
  rounds: number,
  works: W,
): Promise<{ [I in keyof W]: Measurement }> {
  for (const [, work] of works) await work();
  const times = works.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < works.length; i++) {
      const index = (round + i) % works.length;
      const start = performance.now();
      await (works[index] as W[number])[1]();
      (times[index] as number[]).push(performance.now() - start);
    }
  }
  return works.map(([label], index) => {
    const sorted = (times[index] as number[]).sort((a, b) => a - b);
    const usPerOp = ((sorted[Math.floor(sorted.length / 2)] as number) * 1_000) / batch;
    return { label, usPerOp, opsPerSec: 1_000_000 / usPerOp };
  }) as { [I in keyof W]: Measurement };
}
