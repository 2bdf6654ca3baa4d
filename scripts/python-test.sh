#!/usr/bin/env bash
# Tests of the PyTorch interop package in python/ (`pip install ./python`, imported as `mtsnn`):
# its forward pass gives `mtsnn infer --json`'s spike counts on 200 test images for the shipped
# models and for generated weights of the paper's five networks, and torch → mtsnn → torch is
# lossless.
#
# PyTorch comes from the package registry into the virtual environment the peer benchmark uses
# (.venv-peers/, made by `scripts/bench-peers.sh --install-only` and reused when present; VENV=DIR
# puts it elsewhere): ≈ 4.5 GB once, because the registry's Linux torch wheel is a CUDA build.
# The MNIST and FashionMNIST test sets come from scripts/fetch-data.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export VENV="${VENV:-.venv-peers}"
scripts/bench-peers.sh --install-only
scripts/fetch-data.sh >/dev/null
cargo build --release -p mtsnn-cli --quiet
python="$(cd "$(dirname "$VENV")" && pwd)/$(basename "$VENV")/bin/python"
"$python" -m pip install --disable-pip-version-check --quiet --no-deps ./python
# The installed package, not the source tree: run from a directory that has no `mtsnn/`.
cd python/tests
MTSNN="$OLDPWD/target/release/mtsnn" "$python" -m unittest -v test_interop
