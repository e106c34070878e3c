export {
  DEFAULT_KEEP_EXPIRED,
  DEFAULT_REDIS_TIMEOUT,
  DEFAULT_REDIS_URL,
  RedisCache,
  type RedisCacheOptions,
} from "./cache.js";
export type { RedisArgument, RedisClient, RedisClientOptions, RedisPipeline, RedisPipelineReplies } from "./client.js";
export { DEFAULT_PREFIX as DEFAULT_REDIS_PREFIX, type KeyLayout } from "./keys.js";
export { RedisRepository } from "./repository.js";
