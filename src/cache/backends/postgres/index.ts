export {
  DEFAULT_POOL_SIZE as POSTGRES_DEFAULT_POOL_SIZE,
  DEFAULT_TIMEOUT as POSTGRES_DEFAULT_TIMEOUT,
  PostgresCache,
  type PostgresCacheOptions,
} from "./cache.js";
export type { PgCustomTypes, PgPool, PgPoolClient, PgPoolConfig, PgQueryConfig, PgQueryResult } from "./pool.js";
export { SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION } from "./sql.js";
export { PostgresTable, type PostgresTableContext } from "./table.js";
