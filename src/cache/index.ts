// Installs ResponseCache.create; the factory imports the cache module, never the other way round.
import "./factory.js";

export {
  ALL_TIME,
  type BatchOptions,
  type BrokenEntry,
  type EntryFilter,
  type ListOptions,
  type Progress,
  type RepositoryStats,
  type ResolvedFilter,
  type VerifyOptions,
  type VerifyReport,
} from "./admin.js";
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
  type CreateRepositoryOptions,
  type RepositoryGetter,
  ResponseCache,
  repositoryByPathSegment,
  type StoreSize,
} from "./cache.js";
export type { CacheEntry } from "./entry.js";
export { HTTP_REPOSITORY, HttpRepositorySettings, type HttpSettingsOptions } from "./http-settings.js";
export { keyId } from "./key.js";
export { CACHE_ENV, DEFAULT_CACHE_PATH, defaultCacheLocation } from "./location.js";
export { type PayloadKind, RecordedSettings, type RepositoryRecord } from "./records.js";
export {
  type CachePolicy,
  DEFAULT_STATUSES,
  RESERVED_FIELDS,
  type RepositoryOptions,
  type RepositoryRequest,
  type ResponseHead,
  ResponseRepository,
  type SaveInput,
  type SaveOptions,
} from "./repository.js";
export {
  DEFAULT_METHODS,
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
export {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type ExportOptions,
  exportCache,
  type ImportReport,
  importCache,
} from "./transfer.js";
export { normalizeUrl } from "./url.js";
