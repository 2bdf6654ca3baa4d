#!/usr/bin/env bash
# Builds the browser package of mtsnn (crates/mtsnn-web → web/pkg/) and serves the demo.
#   scripts/web.sh build         cargo build (wasm32, release) + wasm-bindgen --target web → web/pkg/
#   scripts/web.sh serve [PORT]  build, then serve web/ on http://127.0.0.1:PORT/ (default 8080)
#   scripts/web.sh pack          the npm package `mtsnn` (files from web/npm/, version of the
#                                workspace) in target/npm/mtsnn/ and its tarball target/npm/mtsnn-VERSION.tgz
#   scripts/web.sh deps          what the browser tests need: Debian `chromium`, and npm
#                                playwright-core and esbuild as locked in web/package-lock.json
# Needs the wasm32-unknown-unknown target and wasm-bindgen-cli at the version the crate pins;
# both are installed here when missing (the CLI takes several minutes to compile, once).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The exact version of the wasm-bindgen crate in Cargo.toml's [workspace.dependencies].
wb_version="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)"

ensure_tools() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        rustup target add wasm32-unknown-unknown
    fi
    if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]]; then
        echo "web: installing wasm-bindgen-cli $wb_version (several minutes, once)"
        # --locked keeps the CLI's own lock file; fall back when a crate it locks is unavailable.
        cargo install wasm-bindgen-cli --version "$wb_version" --locked \
            || cargo install wasm-bindgen-cli --version "$wb_version"
    fi
}

build() {
    ensure_tools
    cargo build --release --target wasm32-unknown-unknown -p mtsnn-web
    wasm-bindgen --target web --out-dir web/pkg target/wasm32-unknown-unknown/release/mtsnn_web.wasm
    local wasm=web/pkg/mtsnn_web_bg.wasm js=web/pkg/mtsnn_web.js
    echo "web: built web/pkg: $(wc -c <"$wasm") B wasm + $(wc -c <"$js") B JS;" \
        "gzip $(cat "$wasm" "$js" | gzip -9 | wc -c) B"
}

# The npm package: wasm-bindgen's ES module, its types and wasm (named mtsnn*), the Node entry and
# README of web/npm/, and a package.json with the workspace's version; then `npm pack`.
pack() {
    build
    local version dir=target/npm/mtsnn
    version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
    rm -rf "$dir" "target/npm/mtsnn-$version.tgz"
    mkdir -p "$dir"
    wasm-bindgen --target web --out-dir "$dir" --out-name mtsnn \
        target/wasm32-unknown-unknown/release/mtsnn_web.wasm
    rm "$dir/mtsnn_bg.wasm.d.ts"
    cp web/npm/README.md web/npm/node.js "$dir/"
    sed "s/@VERSION@/$version/" web/npm/package.json.in >"$dir/package.json"
    (cd target/npm && npm pack --silent ./mtsnn >/dev/null)
    local tgz="target/npm/mtsnn-$version.tgz"
    echo "web: packed $tgz: $(wc -c <"$tgz") B (unpacked $(cat "$dir"/* | wc -c) B)"
}

deps() {
    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        sudo=(sudo)
    fi
    if [[ ! -x /usr/bin/chromium ]]; then
        echo "web: installing chromium"
        "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium
    fi
    local pkg want have
    for pkg in playwright-core esbuild; do
        want="$(sed -n "s/.*\"$pkg\": \"\(.*\)\".*/\1/p" web/package.json)"
        have="$(node -p "require('./web/node_modules/$pkg/package.json').version" 2>/dev/null || true)"
        if [[ "$have" != "$want" ]]; then
            (cd web && npm ci --no-audit --no-fund)
            break
        fi
    done
}

case "${1:-}" in
    build) build ;;
    serve) build; exec node web/tools/serve.mjs "${2:-8080}" web ;;
    pack) pack ;;
    deps) deps ;;
    *) echo "usage: $0 build | serve [PORT] | pack | deps" >&2; exit 2 ;;
esac
