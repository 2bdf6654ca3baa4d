#!/usr/bin/env bash
# Installs what building and testing mtsnn needs on a fresh Debian machine (idempotent):
#   - mesa-vulkan-drivers: lavapipe, the software Vulkan driver the GPU tests run on;
#   - fonts-dejavu-core: the font `mtsnn plot`/`sweep` draw their figures' text with;
#   - rustfmt and clippy for the lint steps;
#   - cargo-afl (its build compiles AFL++ with make and a C compiler) and GNU time (peak memory)
#     for scripts/fuzz.sh.
set -euo pipefail

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
    sudo=(sudo)
fi

packages=(mesa-vulkan-drivers fonts-dejavu-core make gcc time)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "setup: installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
afl_version=0.18.2
if [[ "$(cargo afl --version 2>/dev/null)" != *"cargo-afl $afl_version"* ]]; then
    echo "setup: installing cargo-afl $afl_version (builds AFL++)"
    cargo install --quiet --locked cargo-afl --version "=$afl_version"
fi
# AFL's runtime for this rustc (built with cargo-afl; a no-op, refused, when it exists).
cargo afl config --build >/dev/null 2>&1 || true
echo "setup: done"
