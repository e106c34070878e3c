/**
 * URL globs, as the listing and purge filters take them: `*` stands for any run of characters
 * (slashes included), `?` for any one character, and every other character for itself. Matching is
 * case-sensitive and covers the whole URL.
 */

/** A regular expression that matches exactly what the glob matches. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const char of glob) {
    if (char === "*") source += "[\\s\\S]*";
    else if (char === "?") source += "[\\s\\S]";
    else source += char.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "u");
}

/** The same glob for SQLite's `GLOB` operator, whose `[` starts a class: a literal `[` becomes `[[]`. */
export function globToSqlite(glob: string): string {
  return glob.replaceAll("[", "[[]");
}

/** The same glob as a `LIKE` pattern with `\` as the escape character. */
export function globToLike(glob: string): string {
  let like = "";
  for (const char of glob) {
    if (char === "*") like += "%";
    else if (char === "?") like += "_";
    else if (char === "%" || char === "_" || char === "\\") like += `\\${char}`;
    else like += char;
  }
  return like;
}
