import type { ResponseCache } from "./cache.js";

/** The most URL strings whose route one {@link UrlRoutes} remembers. */
const MAX_ROUTES = 10_000;

/**
 * Where URL strings were routed (a repository, a key, whatever the caller keeps), so that a repeated
 * request for the same URL string skips parsing, routing and keying it. What is remembered is valid
 * while the cache routes as it did (its `routeVersion`: a repository created, the `repositoryGetter`
 * replaced); settings' `getKey` is taken to give the same key for the same URL. Bounded: when full,
 * it starts again empty.
 */
export class UrlRoutes<T> {
  readonly #routes = new Map<string, T>();
  #version = -1;

  /** The route remembered for `href`, if the cache still routes as it did when it was remembered. */
  get(href: string, cache: ResponseCache): T | undefined {
    return cache.routeVersion === this.#version ? this.#routes.get(href) : undefined;
  }

  /** Remembers the route of `href`, as the cache routes now. */
  set(href: string, cache: ResponseCache, route: T): void {
    const version = cache.routeVersion;
    if (version !== this.#version || this.#routes.size >= MAX_ROUTES) {
      this.#routes.clear();
      this.#version = version;
    }
    this.#routes.set(href, route);
  }
}
