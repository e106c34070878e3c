export {
  type BoundsOptions,
  DEFAULT_RETENTION,
  ENTRY_OVERHEAD,
  entrySize,
  type StoreUsage,
} from "./bounds.js";
export {
  type AnyRepository,
  type CacheOptions,
  type CacheSaveInput,
  type RepositoryGetter,
  ResponseCache,
  repositoryByPathSegment,
} from "./cache.js";
export type { CacheEntry } from "./entry.js";
export { keyId } from "./key.js";
export {
  RESERVED_FIELDS,
  type RepositoryOptions,
  type RepositoryRequest,
  ResponseRepository,
  type SaveInput,
} from "./repository.js";
export {
  defineSettings,
  type KeyParts,
  ResponseRepositorySettings,
  type SettingsDefinition,
  type SettingsOptions,
} from "./settings.js";
export {
  DEFAULT_FILL_LEASE,
  type FillOptions,
  type FillTicket,
  type StoreLocks,
} from "./single-flight.js";
