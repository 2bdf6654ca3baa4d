#!/usr/bin/env bash
# Browser tests of the demo page (web/tests/browser.test.mjs): installs what they need when missing
# (`scripts/web.sh deps`: Debian `chromium`, npm `playwright-core`; the wasm32 target and
# wasm-bindgen-cli at the pinned version), builds the wasm package and the native `mtsnn`, serves
# web/ on 127.0.0.1 and runs headless Chromium with and without WebGPU.
# Screenshots and timings go to target/web-artifacts/. Ends with `N passed, M failed`; exits 1 on failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/web.sh deps
scripts/web.sh build
cargo build --release -p mtsnn-cli

# Scratch space for Chromium's profiles and the tests' PNG files; every launch leaves files behind.
scratch="$(mktemp -d)"
log="$scratch/server.log"
server=""
cleanup() {
    if [[ -n "$server" ]]; then
        kill "$server" 2>/dev/null || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

# Made first: the background job opens it only once it runs, maybe after the first `sed` below,
# whose failure would end this script (set -e).
: >"$log"
node web/tools/serve.mjs 0 web >"$log" 2>&1 &
server=$!
url=""
for _ in $(seq 50); do
    url="$(sed -n 's/.* on \(http:.*\)$/\1/p' "$log")"
    [[ -n "$url" ]] && break
    sleep 0.1
done
if [[ -z "$url" ]]; then
    echo "web-test: the server did not start:" >&2
    cat "$log" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

TMPDIR="$scratch" BASE_URL="$url" MTSNN_BIN=target/release/mtsnn ARTIFACTS=target/web-artifacts \
    node web/tests/browser.test.mjs
