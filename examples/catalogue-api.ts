/**
 * A small JSON API on loopback in the shape of a music catalogue API: artists, albums and tracks
 * with stable 22-character ids, answered after a configurable delay as a remote API would be.
 * The demo and the documentation's examples run against it; it counts what reaches it.
 *
 *   GET /v1/artists/{id}            an artist
 *   GET /v1/albums/{id}             an album, with its artists and its tracks
 *   GET /v1/tracks/{id}             a track, with its album and its artists
 *   GET /v1/albums?offset=&limit=   a page of albums (simplified)
 *
 * @example
 * const api = await startCatalogueApi({ latency: 20 });
 * const album = await (await fetch(`${api.url}/v1/albums/${catalogue.albums[0].id}`)).json();
 * await api.close();
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ArtistRef {
  id: string;
  name: string;
  type: "artist";
}

export interface Artist extends ArtistRef {
  genres: string[];
  followers: { total: number };
  popularity: number;
}

export interface TrackRef {
  id: string;
  name: string;
  type: "track";
  track_number: number;
  duration_ms: number;
}

export interface Track extends TrackRef {
  album: { id: string; name: string; type: "album" };
  artists: ArtistRef[];
  explicit: boolean;
  popularity: number;
}

export interface Album {
  id: string;
  name: string;
  type: "album";
  album_type: "album" | "single" | "compilation";
  release_date: string;
  total_tracks: number;
  artists: ArtistRef[];
  tracks: { items: TrackRef[]; total: number };
}

export interface Catalogue {
  artists: Artist[];
  albums: Album[];
  tracks: Track[];
}

const ADJECTIVES = ["Velvet", "Electric", "Quiet", "Golden", "Paper", "Midnight", "Neon", "Hollow", "Silver", "Wild"];
const NOUNS = ["Harbour", "Engines", "Foxes", "Lanterns", "Tides", "Orchard", "Satellites", "Rivers", "Echoes", "Owls"];
const WORDS = ["Blue", "Summer", "Static", "Falling", "Slow", "Northern", "Glass", "Morning", "Heavy", "Distant"];
const THINGS = ["Light", "Motion", "Signal", "Garden", "Weather", "Highway", "Heart", "Room", "Water", "Fire"];
const GENRES = ["indie pop", "shoegaze", "synthwave", "folk", "post-rock", "dream pop", "garage rock", "ambient"];
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A small deterministic random number generator (mulberry32), so that every run has the same catalogue. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Builds the catalogue: 40 artists, 60 albums (one artist each, every third album with a guest
 * artist: the next album's), 200 tracks (3 or 4 per album).
 */
export function buildCatalogue(): Catalogue {
  const next = random(20_260_131);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T;
  const id = () => Array.from({ length: 22 }, () => pick(BASE62.split(""))).join("");

  const artists: Artist[] = Array.from({ length: 40 }, () => ({
    id: id(),
    name: `The ${pick(ADJECTIVES)} ${pick(NOUNS)}`,
    type: "artist",
    genres: [pick(GENRES), pick(GENRES)].filter((genre, i, all) => all.indexOf(genre) === i),
    followers: { total: Math.floor(next() * 2_000_000) },
    popularity: Math.floor(next() * 100),
  }));
  const ref = (artist: Artist): ArtistRef => ({ id: artist.id, name: artist.name, type: "artist" });

  const albums: Album[] = [];
  const tracks: Track[] = [];
  for (let i = 0; i < 60; i++) {
    const main = artists[i % artists.length] as Artist;
    const guest = i % 3 === 0 ? (artists[(i + 1) % artists.length] as Artist) : undefined;
    const albumArtists = guest === undefined ? [ref(main)] : [ref(main), ref(guest)];
    const album: Album = {
      id: id(),
      name: `${pick(WORDS)} ${pick(THINGS)}`,
      type: "album",
      album_type: i % 10 === 9 ? "single" : "album",
      release_date: `${2000 + Math.floor(next() * 26)}-${String(1 + Math.floor(next() * 12)).padStart(2, "0")}-01`,
      total_tracks: i % 3 === 0 ? 4 : 3,
      artists: albumArtists,
      tracks: { items: [], total: 0 },
    };
    for (let n = 1; n <= album.total_tracks; n++) {
      const track: Track = {
        id: id(),
        name: `${pick(WORDS)} ${pick(THINGS)}`,
        type: "track",
        track_number: n,
        duration_ms: 120_000 + Math.floor(next() * 240_000),
        album: { id: album.id, name: album.name, type: "album" },
        artists: albumArtists,
        explicit: next() < 0.1,
        popularity: Math.floor(next() * 100),
      };
      tracks.push(track);
      album.tracks.items.push({
        id: track.id,
        name: track.name,
        type: "track",
        track_number: n,
        duration_ms: track.duration_ms,
      });
    }
    album.tracks.total = album.tracks.items.length;
    albums.push(album);
  }
  return { artists, albums, tracks };
}

/** The catalogue that the API serves. */
export const catalogue: Catalogue = buildCatalogue();

export interface CatalogueApiOptions {
  /**
   * Milliseconds to wait before each answer, as a remote API would take.
   * @default 0
   * @example { latency: 20 }
   */
  latency?: number;
  /**
   * The `Cache-Control` of every answer. The default says that answers must not be reused without
   * asking, so that only a repository's own expiry makes them cacheable.
   * @default "private, max-age=0"
   * @example { cacheControl: "max-age=3600" }
   */
  cacheControl?: string;
}

export interface CatalogueApi {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** How many requests reached the API. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Starts the API on a free port of 127.0.0.1. */
export async function startCatalogueApi({
  latency = 0,
  cacheControl = "private, max-age=0",
}: CatalogueApiOptions = {}): Promise<CatalogueApi> {
  const byId = {
    artists: new Map(catalogue.artists.map((artist) => [artist.id, artist])),
    albums: new Map(catalogue.albums.map((album) => [album.id, album])),
    tracks: new Map(catalogue.tracks.map((track) => [track.id, track])),
  };
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    const url = new URL(request.url ?? "/", "http://localhost");
    const answer = () => route(request.method ?? "GET", url, byId, response, cacheControl);
    if (latency > 0) setTimeout(answer, latency);
    else answer();
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

type Index = { [K in keyof Catalogue]: Map<string, Catalogue[K][number]> };

function route(method: string, url: URL, byId: Index, response: ServerResponse, cacheControl: string): void {
  const [status, body] = answer(method, url, byId);
  reply(response, status, body, cacheControl);
}

function answer(method: string, url: URL, byId: Index): [number, unknown] {
  if (method !== "GET") return [405, error(405, `Method ${method} not allowed`)];
  const [version, kind, id, ...rest] = url.pathname.split("/").slice(1);
  if (version !== "v1" || rest.length > 0 || (kind !== "artists" && kind !== "albums" && kind !== "tracks")) {
    return [404, error(404, "Service not found")];
  }
  if (id === undefined || id === "") {
    if (kind !== "albums") return [404, error(404, "Service not found")];
    const offset = Number(url.searchParams.get("offset") ?? 0);
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 20), 50);
    const items = catalogue.albums.slice(offset, offset + limit).map(({ id, name, artists, release_date }) => ({
      id,
      name,
      type: "album",
      artists,
      release_date,
    }));
    return [200, { items, offset, limit, total: catalogue.albums.length }];
  }
  const found = byId[kind].get(id);
  if (found === undefined) return [404, error(404, `Non existing id: '${id}'`)];
  return [200, found];
}

function error(status: number, message: string) {
  return { error: { status, message } };
}

function reply(response: ServerResponse, status: number, body: unknown, cacheControl: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": cacheControl,
  });
  response.end(text);
}
