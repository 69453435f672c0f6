#!/usr/bin/env bash
# Packaging checks for every workspace package, on the tarball npm would publish (build first):
# publint (exports, files, fields), are-the-types-wrong (types under node16 CJS/ESM and bundler resolution;
# not node10, which cannot see subpath exports such as @proxyproto/node/adapter, while the packages need
# Node 20+), and the LICENSE in each tarball, identical to the repository's.
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in packages/*/; do
  dir=${dir%/}
  echo "== $dir"
  cmp -s LICENSE "$dir/LICENSE" || { echo "$dir/LICENSE is missing or differs from LICENSE" >&2; exit 1; }
  npx --no-install publint run --strict "$dir"
  (cd "$dir" && npx --no-install attw --pack . --profile node16 --format table-flipped)
  files=$(cd "$dir" && npm pack --dry-run --json --ignore-scripts | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s)[0].files.map((f)=>f.path).join("\n")))')
  for f in LICENSE README.md package.json; do
    grep -qx "$f" <<<"$files" || { echo "$dir: the tarball has no $f" >&2; exit 1; }
  done
  # The "source" export condition points into src/: the tarball must ship it (shared/NOTES.md "npm workspaces pitfalls").
  if grep -q '"source"' "$dir/package.json"; then grep -q '^src/index.ts$' <<<"$files" || { echo "$dir: \"source\" points at src/index.ts, which the tarball lacks" >&2; exit 1; }; fi
done
