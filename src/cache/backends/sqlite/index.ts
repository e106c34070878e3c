export { IN_MEMORY, SQLiteCache, type SQLiteCacheOptions } from "./cache.js";
export { SCHEMA_VERSION } from "./sql.js";
export { SQLiteTable } from "./table.js";
