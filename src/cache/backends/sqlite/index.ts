export { IN_MEMORY, SQLiteCache, type SQLiteCacheOptions } from "./cache.js";
export type {
  SQLiteDatabase,
  SQLitePragmaOptions,
  SQLiteRunResult,
  SQLiteStatement,
  SQLiteTransaction,
  SQLiteTransactionParameters,
} from "./database.js";
export { SCHEMA_VERSION } from "./sql.js";
export { SQLiteTable } from "./table.js";
