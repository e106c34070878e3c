export {
  type AnyRepository,
  type CacheOptions,
  type CacheSaveInput,
  type CreateRepositoryOptions,
  type RepositoryGetter,
  ResponseCache,
  repositoryByPathSegment,
} from "./cache.js";
export type { CacheEntry } from "./entry.js";
export { keyId } from "./key.js";
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
  defineSettings,
  type KeyParts,
  ResponseRepositorySettings,
  type SettingsDefinition,
  type SettingsOptions,
} from "./settings.js";
