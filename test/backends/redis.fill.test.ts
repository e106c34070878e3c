/** One origin request per miss across processes sharing one Redis prefix. */
import { describeFillConformance } from "../conformance/fill.js";
import { pingRedis, REDIS_URL, removePrefix, uniquePrefix } from "../helpers/redis.js";

const unavailable = await pingRedis();
const prefixes: string[] = [];

describeFillConformance({
  name: "redis",
  skip: unavailable === undefined ? undefined : `no Redis at ${REDIS_URL} (${unavailable})`,
  location: async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    return { value: REDIS_URL, options: { prefix, timeout: 10_000 } };
  },
  cleanup: async () => {
    for (const prefix of prefixes) await removePrefix(prefix);
  },
});
