#!/usr/bin/env bash
# Installs Deno 2 and Bun 1 for the runtime suites (test/runtime-deno.test.ts, test/runtime-bun.test.ts)
# from the npm registry packages @deno/linux-x64-glibc@2 and @oven/bun-linux-x64@1 into .cache/runtimes,
# where test/helpers/runtimes.ts finds them. Idempotent: a binary already there is kept.
# Usage: scripts/runtimes.sh            (linux x64 with glibc, as CI)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.cache/runtimes
mkdir -p "$dir"
install() { # <npm package@range> <unpack dir> <binary inside it>
  local spec=$1 target=$dir/$2 bin=$dir/$2/$3
  if [ ! -x "$bin" ]; then
    local tgz
    tgz=$(cd "$dir" && npm pack --silent "$spec" | tail -n 1)
    rm -rf "$target" && mkdir -p "$target"
    tar xzf "$dir/$tgz" -C "$target"
    rm -f "$dir/$tgz"
  fi
  echo "$2: $("$bin" --version | head -n 1)"
}
install @deno/linux-x64-glibc@2 deno package/deno
install @oven/bun-linux-x64@1 bun package/bin/bun
