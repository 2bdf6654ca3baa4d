#!/usr/bin/env bash
# Installs what building and testing mtsnn needs on a fresh Debian machine (idempotent):
#   - mesa-vulkan-drivers: lavapipe, the software Vulkan driver the GPU tests run on;
#   - fonts-dejavu-core: the font `mtsnn plot`/`sweep` draw their figures' text with;
#   - rustfmt and clippy for the lint steps.
set -euo pipefail

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
    sudo=(sudo)
fi

packages=(mesa-vulkan-drivers fonts-dejavu-core)
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
echo "setup: done"
