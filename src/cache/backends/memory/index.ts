export { DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, MemoryCache, type MemoryCacheOptions } from "./cache.js";
export { MemoryRepository } from "./repository.js";
