// Installs ResponseCache.create; the factory imports the cache module, never the other way round.
import "./factory.js";

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
export { HTTP_REPOSITORY, HttpRepositorySettings, type HttpSettingsOptions } from "./http-settings.js";
export { keyId } from "./key.js";
export { CACHE_ENV, DEFAULT_CACHE_PATH, defaultCacheLocation } from "./location.js";
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
export { normalizeUrl } from "./url.js";
