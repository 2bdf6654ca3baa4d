#!/usr/bin/env bash
# Builds the browser package of mtsnn (crates/mtsnn-web → web/pkg/) and serves the demo.
#   scripts/web.sh build         cargo build (wasm32, release) + wasm-bindgen --target web → web/pkg/
#   scripts/web.sh serve [PORT]  build, then serve web/ on http://127.0.0.1:PORT/ (default 8080)
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

case "${1:-}" in
    build) build ;;
    serve) build; exec node web/tools/serve.mjs "${2:-8080}" web ;;
    *) echo "usage: $0 build | serve [PORT]" >&2; exit 2 ;;
esac
