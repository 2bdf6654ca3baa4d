#!/usr/bin/env bash
# Tests of the npm package (web/tests/npm.test.mjs): packs it (scripts/web.sh pack), installs the
# tarball into a fresh scratch project, and uses it from Node and from a page bundled with esbuild
# in headless Chromium, against the native `mtsnn infer`; first `tsc --noEmit` (strict) checks a
# typed consumer (web/tests/npm-app/consumer.ts) against the declarations the package ships.
# Installs what it needs when missing (scripts/web.sh deps). Ends with `N passed, M failed`; exits 1
# on failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/web.sh deps
scripts/web.sh pack
cargo build --release -p mtsnn-cli
version="$(node -p 'require("./target/npm/mtsnn/package.json").version')"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/app"
cp web/tests/npm-app/* "$scratch/app/"
(
    cd "$scratch/app"
    npm init -y >/dev/null
    npm install --no-audit --no-fund --loglevel=error "$OLDPWD/target/npm/mtsnn-$version.tgz"
)
echo "npm-test: tsc --noEmit on a typed consumer of the package's declarations"
web/node_modules/.bin/tsc -p "$scratch/app/tsconfig.json"

TMPDIR="$scratch" APP="$scratch/app" VERSION="$version" ESBUILD="$PWD/web/node_modules/.bin/esbuild" \
    MTSNN_BIN=target/release/mtsnn node web/tests/npm.test.mjs
