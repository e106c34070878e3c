#!/usr/bin/env bash
# Checks the package as a user gets it: packs it (prepack builds first), checks what the tarball
# holds, installs it into a new project in a temporary folder with TypeScript and @types/node and
# nothing else (no ioredis, no pg, no @types for the drivers), type-checks an ES module and a
# CommonJS module that use it under `strict` without `skipLibCheck`, and runs them. Then checks
# that `npm install` leaves package-lock.json as it is.
#
#   bash scripts/check-package.sh            # everything
#   KEEP=1 bash scripts/check-package.sh     # keep the temporary folder, and say where it is
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/requestful-package.XXXXXX")
if [ "${KEEP:-}" = "1" ]; then
  echo "(keeping $work)"
else
  trap 'rm -rf "$work"' EXIT
fi

version_of() { node -p "require('$1/package.json').version"; }

echo "== npm pack (prepack builds)"
npm pack --pack-destination "$work" --json --foreground-scripts >"$work/pack.json"
tarball="$work/$(node -p "require('$work/pack.json')[0].filename")"
echo "packed $(basename "$tarball")"

echo "== tarball contents"
node - "$work/pack.json" "$tarball" <<'EOF'
const { execFileSync } = require("node:child_process");
const { posix } = require("node:path");
const [, , packJson, tarball] = process.argv;
const files = new Set(require(packJson)[0].files.map((file) => file.path));
const problems = [];
for (const required of ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/index.d.ts"]) {
  if (!files.has(required)) problems.push(`${required} is missing`);
}
for (const file of files) {
  if (/^(test|bench|examples|scripts|\.ci)\//.test(file)) problems.push(`${file} should not be published`);
}
// Every source map must point at sources that ship with it.
const maps = [...files].filter((file) => file.endsWith(".map"));
for (const map of maps) {
  const text = execFileSync("tar", ["-xzOf", tarball, `package/${map}`], { encoding: "utf8" });
  for (const source of JSON.parse(text).sources) {
    const path = posix.normalize(posix.join(posix.dirname(map), source));
    if (!files.has(path)) problems.push(`${map} points at ${path}, which is not in the package`);
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`${files.size} files; ${maps.length} source maps, each with its sources`);
EOF

echo "== a new project that installs the tarball"
consumer="$work/consumer"
mkdir -p "$consumer"
cp scripts/package-consumer/esm.ts scripts/package-consumer/cjs.cts scripts/package-consumer/tsconfig.json "$consumer/"
printf '{ "name": "requestful-consumer", "private": true, "type": "module" }\n' >"$consumer/package.json"
typescript=$(version_of typescript)
types_node=$(version_of @types/node)
# better-sqlite3's own build is not what is checked here: it is installed without its build step,
# and the build this project already has is copied in when the versions match (built otherwise).
(cd "$consumer" && npm install --no-audit --no-fund --prefer-offline --ignore-scripts \
  "$tarball" "typescript@$typescript" "@types/node@$types_node")
sqlite_version=$(cd "$consumer" && version_of better-sqlite3)
if [ -d node_modules/better-sqlite3/build/Release ] && [ "$(version_of better-sqlite3)" = "$sqlite_version" ]; then
  cp -R node_modules/better-sqlite3/build "$consumer/node_modules/better-sqlite3/"
else
  (cd "$consumer" && npm rebuild better-sqlite3 --foreground-scripts)
fi
for driver in ioredis pg @types/pg @types/better-sqlite3 @types/ioredis; do
  if [ -e "$consumer/node_modules/$driver" ]; then
    echo "$driver was installed with the package; the check needs a project without it" >&2
    exit 1
  fi
done

echo "== tsc --strict, without skipLibCheck (TypeScript $typescript, @types/node $types_node)"
(cd "$consumer" && npx --no-install tsc -p tsconfig.json)

echo "== run: ES module"
(cd "$consumer" && node out/esm.js)
echo "== run: CommonJS module"
(cd "$consumer" && node out/cjs.cjs)
echo "(Node $(node --version): require() of an ES module works from Node 20.19 and 22.12; older releases"
echo " refuse it with ERR_REQUIRE_ESM, whose message says the package is an ES module)"

echo "== npm install leaves package-lock.json unchanged"
lock="$work/lock"
mkdir -p "$lock"
cp package.json package-lock.json "$lock/"
(cd "$lock" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --prefer-offline >/dev/null)
if ! cmp -s package-lock.json "$lock/package-lock.json"; then
  diff -u package-lock.json "$lock/package-lock.json" | head -40 >&2
  echo "npm install changes package-lock.json: run npm install and commit the lock file" >&2
  exit 1
fi
echo "package-lock.json is in step with package.json"

echo "== package check passed ($root)"
