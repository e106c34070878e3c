import type { EntryFilter } from "../cache/admin.js";
import type { Values } from "./command.js";
import { parseDuration } from "./format.js";
import { UsageError } from "./terminal.js";

export const FILTER_OPTIONS = {
  expired: { type: "boolean" },
  live: { type: "boolean" },
  match: { type: "string", short: "m" },
  "older-than": { type: "string" },
} as const;

export const FILTER_HELP = `  --expired            only expired entries
  --live               only live entries
  -m, --match GLOB     only entries whose URL matches GLOB (* any run of characters, ? one)
  --older-than D       only entries cached more than D ago (90s, 15m, 12h, 7d, 2w, 1d12h)`;

/** The entry filter that the options describe, at `now`. */
export function filterOf(values: Values, now: number): EntryFilter {
  if (values.expired === true && values.live === true) {
    throw new UsageError("--expired and --live exclude each other; give one of them");
  }
  const filter: EntryFilter = {};
  if (values.expired === true) filter.state = "expired";
  if (values.live === true) filter.state = "live";
  if (typeof values.match === "string") filter.match = values.match;
  if (typeof values["older-than"] === "string") {
    const span = parseDuration(values["older-than"]);
    if (span === undefined) {
      throw new UsageError(
        `--older-than takes a duration such as 90s, 15m, 12h, 7d, 2w or 1d12h, got ${JSON.stringify(values["older-than"])}`,
      );
    }
    filter.cachedBefore = now - span;
  }
  return filter;
}

/** Whether the filter takes a subset, rather than every entry. */
export function narrows(filter: EntryFilter): boolean {
  return filter.state !== undefined || filter.match !== undefined || filter.cachedBefore !== undefined;
}
