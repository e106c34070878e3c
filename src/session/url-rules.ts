import { describeValue } from "../describe.js";
import { type Expire, validateExpire } from "../duration.js";

/**
 * What a URL rule says about the requests it matches: how long their responses stay fresh, that
 * they never expire (`"never"`), or that they are not cached at all (`false`).
 */
export type UrlExpire = Expire | "never" | false;

/** A checked rule: its pattern, as matchers for host and path, and how specific it is. */
interface Rule {
  readonly pattern: string;
  readonly host: RegExp;
  readonly path: RegExp;
  /** The number of literal characters: the rule with more wins. */
  readonly weight: number;
  /** Whether the pattern names a port, so that it is matched against the host with its port. */
  readonly port: boolean;
  readonly order: number;
  readonly expire: UrlExpire;
}

/**
 * URL patterns mapped to an expiry, checked once. A pattern is `HOST/PATH` (a scheme is allowed and
 * ignored): in the host, `*` matches one label or part of one (`*.example.com`); in the path, `*`
 * matches within one segment and `**` across segments; a pattern without a path matches every path
 * of the host. The query is not matched.
 *
 * The most specific pattern that matches wins: the one with the most literal (non-wildcard)
 * characters; between equals, the one given first.
 *
 * @example
 * new UrlRules({ "api.example.com/v1/tracks/*": { hours: 1 }, "*.example.com/static/**": "never", "api.example.com/v1/me": false })
 */
export class UrlRules {
  readonly #rules: readonly Rule[];

  constructor(rules: Readonly<Record<string, UrlExpire>>) {
    if (typeof rules !== "object" || rules === null || Array.isArray(rules)) {
      throw new TypeError(`expireByUrl must be an object of URL patterns to expiries, got ${describeValue(rules)}`);
    }
    const checked: Rule[] = [];
    for (const [pattern, expire] of Object.entries(rules)) checked.push(compile(pattern, expire, checked.length));
    checked.sort((a, b) => b.weight - a.weight || a.order - b.order);
    this.#rules = checked;
  }

  /** How many rules there are. */
  get size(): number {
    return this.#rules.length;
  }

  /** What the most specific matching rule says about this URL, or `undefined` when none matches. */
  match(url: URL): UrlExpire | undefined {
    const path = url.pathname;
    for (const rule of this.#rules) {
      if (rule.host.test(rule.port ? url.host : url.hostname) && rule.path.test(path)) return rule.expire;
    }
    return undefined;
  }
}

/** Checks one expiry given for a request or a rule: a duration, `"never"` or `false`. */
export function checkUrlExpire(expire: unknown, what: string): UrlExpire {
  if (expire === false || expire === "never") return expire;
  return validateExpire(expire, `${what} (a duration, "never" or false)`);
}

function compile(pattern: string, expire: unknown, order: number): Rule {
  const what = `expireByUrl[${JSON.stringify(pattern)}]`;
  if (pattern.trim() === "") throw new TypeError(`${what}: a URL pattern cannot be empty`);
  const text = pattern.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = text.indexOf("/");
  const host = (slash === -1 ? text : text.slice(0, slash)).toLowerCase();
  const path = slash === -1 ? "/**" : text.slice(slash);
  if (host === "" || /[\s?#]/.test(text)) {
    throw new TypeError(
      `${what}: expected HOST/PATH with * and ** wildcards, like "api.example.com/v1/*" (no query or fragment)`,
    );
  }
  if (/\*\*/.test(host)) throw new TypeError(`${what}: ** may only be used in the path`);
  return {
    pattern,
    host: new RegExp(`^${host.split("*").map(escape).join("[^.]*")}$`),
    path: new RegExp(`^${globPath(path)}$`),
    weight: text.replace(/\*/g, "").length,
    port: host.includes(":"),
    order,
    expire: checkUrlExpire(expire, what),
  };
}

function globPath(path: string): string {
  let source = "";
  for (let i = 0; i < path.length; i++) {
    if (path.startsWith("/**", i) && (i + 3 === path.length || path[i + 3] === "/")) {
      source += "(?:/.*)?";
      i += 2;
    } else if (path.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (path[i] === "*") source += "[^/]*";
    else source += escapeRegExp(path[i] as string);
  }
  return source;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}
