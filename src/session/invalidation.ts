import type { AnyRepository, ResponseCache } from "../cache/cache.js";
import { HttpRepositorySettings } from "../cache/http-settings.js";
import { credentialPairs } from "../credentials.js";
import type { Key, RequestDescriptor } from "../types.js";
import type { SessionContext } from "./context.js";
import { invalidationTargets } from "./http/index.js";
import { partitionOf } from "./route.js";
import type { Target } from "./target.js";

/**
 * Removes what an unsafe request made stale (RFC 9111 §4.4): after a non-error response, the
 * stored GET and HEAD responses for its URL and for a same-origin Location or Content-Location.
 */
export async function invalidate(
  context: SessionContext,
  cache: ResponseCache,
  fallback: AnyRepository | undefined,
  target: Target,
  response: Response,
): Promise<void> {
  const urls = invalidationTargets(target.keyRequest.method, response.status, target.url, response.headers);
  if (urls.length === 0) return;
  const { options, report } = context;
  if (!cache.connected) {
    try {
      await cache.connect();
    } catch (error) {
      report.failed("connect", error, target, undefined, undefined);
      return;
    }
  }
  for (const url of urls) {
    let repository: AnyRepository | undefined;
    try {
      repository = cache.getRepositoryFromUrl(url) ?? fallback;
      if (repository === undefined) continue;
      // The default repository keeps a caller's entries in a partition of its credentials: those go too.
      const partitions: (string | undefined)[] = [undefined];
      if (repository.settings instanceof HttpRepositorySettings && options.credentials === "partition") {
        const pairs = credentialPairs(target.headers, url, options.credentialNames);
        if (pairs.length > 0) partitions.push(await partitionOf(cache, pairs));
      }
      const keys: Key[] = [];
      for (const partition of partitions) {
        const request = { method: "GET", url, headers: target.headers, partition };
        const key = repository.getKeyFromRequest(request as RequestDescriptor);
        if (key !== undefined) keys.push(key);
      }
      if (keys.length > 0) await repository.deleteResponses(keys);
    } catch (error) {
      report.failed("write", error, target, repository, undefined);
    }
  }
}
