import { RedisCache } from "../../src/index.js";
import { describeAdminConformance } from "../conformance/admin.js";
import { describeSessionModes } from "../conformance/session-modes.js";
import { type ConformanceTarget, describeConformance } from "../conformance/suite.js";
import { pingRedis, REDIS_URL, removePrefix, uniquePrefix } from "../helpers/redis.js";

const unavailable = await pingRedis();
if (unavailable !== undefined && process.env.CI) {
  throw new Error(`Redis must answer at ${REDIS_URL} in CI: ${unavailable}`);
}

let prefix = uniquePrefix();

const target: ConformanceTarget = {
  name: "redis",
  persistent: true,
  skip: unavailable === undefined ? undefined : `no Redis at ${REDIS_URL} (${unavailable})`,
  makeCache: async (options) => RedisCache.connect(REDIS_URL, { ...options, prefix }),
  cleanup: async () => {
    await removePrefix(prefix);
    prefix = uniquePrefix();
  },
};

describeConformance(target);
describeSessionModes(target);
describeAdminConformance(target);
