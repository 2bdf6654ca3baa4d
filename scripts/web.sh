#!/usr/bin/env bash
# Builds the browser package of mtsnn (crates/mtsnn-web → web/pkg/) and serves the demo.
#   scripts/web.sh build         cargo build (wasm32, profile wasm) + wasm-bindgen --target web → web/pkg/
#   scripts/web.sh serve [PORT]  build, then serve web/ on http://127.0.0.1:PORT/ (default 8080)
#   scripts/web.sh pack          the npm package `mtsnn` (files from web/npm/, version of the
#                                workspace) in target/npm/mtsnn/ and its tarball target/npm/mtsnn-VERSION.tgz:
#                                two builds, `mtsnn` (WebGPU and CPU) and `mtsnn/cpu` (CPU only, small)
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

# The wasm module of crates/mtsnn-web (cargo profile `wasm`): `full` with the WebGPU path, `cpu`
# without it (no `gpu` feature: no wgpu). Both land at the same path; bindgen takes the last.
wasm_file=target/wasm32-unknown-unknown/wasm/mtsnn_web.wasm
compile() {
    local flags=()
    if [[ "$1" == cpu ]]; then
        flags=(--no-default-features)
    fi
    cargo build --profile wasm --target wasm32-unknown-unknown -p mtsnn-web "${flags[@]}"
}

# wasm-bindgen's ES module of the last compiled wasm in DIR, its files named NAME*. The name
# section only serves debuggers: dropped, it is a sixth of the module.
bindgen() {
    wasm-bindgen --target web --remove-name-section --out-dir "$1" --out-name "$2" "$wasm_file"
}

# One line of sizes: the wasm and the JS of DIR/NAME*, raw and gzip -9.
sizes() {
    local wasm="$1/$2_bg.wasm" js="$1/$2.js"
    echo "web: $1/$2: wasm $(wc -c <"$wasm") B (gzip $(gzip -9 <"$wasm" | wc -c) B)," \
        "JS $(wc -c <"$js") B (gzip $(gzip -9 <"$js" | wc -c) B)"
}

# `N KB (M KB)`: a file's size and its gzip -9 size, in kilobytes (1000 B).
kb() {
    echo "$(($(wc -c <"$1") / 1000)) KB ($(($(gzip -9 <"$1" | wc -c) / 1000)) KB)"
}

build() {
    ensure_tools
    compile full
    bindgen web/pkg mtsnn_web
    sizes web/pkg mtsnn_web
}

# The npm package: wasm-bindgen's ES modules, types and wasm of both builds (`mtsnn*`: WebGPU and
# the CPU; `mtsnn_cpu*`: the CPU only), the Node entries and README of web/npm/, and a package.json
# with the workspace's version; then `npm pack`.
pack() {
    build
    local version dir=target/npm/mtsnn
    version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
    rm -rf "$dir" "target/npm/mtsnn-$version.tgz"
    mkdir -p "$dir"
    bindgen "$dir" mtsnn
    compile cpu
    bindgen "$dir" mtsnn_cpu
    rm "$dir"/*_bg.wasm.d.ts
    cp web/npm/node.js "$dir/"
    cp LICENSE-MIT LICENSE-APACHE "$dir/"
    # The README's table of the two builds gets their sizes.
    sed "s/@FULL@/$(kb "$dir/mtsnn_bg.wasm")/; s/@CPU@/$(kb "$dir/mtsnn_cpu_bg.wasm")/" \
        web/npm/README.md >"$dir/README.md"
    # The CPU-only entry's Node module: node.js with the other build's files.
    sed 's/mtsnn\.js/mtsnn_cpu.js/; s/mtsnn_bg\.wasm/mtsnn_cpu_bg.wasm/' web/npm/node.js >"$dir/node_cpu.js"
    sed "s/@VERSION@/$version/" web/npm/package.json.in >"$dir/package.json"
    (cd target/npm && npm pack --silent ./mtsnn >/dev/null)
    local tgz="target/npm/mtsnn-$version.tgz"
    sizes "$dir" mtsnn
    sizes "$dir" mtsnn_cpu
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
    for pkg in playwright-core esbuild typescript; do
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
