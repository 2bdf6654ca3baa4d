#!/usr/bin/env bash
# Runs every test of mtsnn: installs what they need (scripts/setup.sh; the browser tests install
# Chromium, playwright-core and the wasm tool chain themselves), then the whole workspace's tests in
# release mode, then the browser tests of the demo (scripts/web-test.sh), those of the npm package
# (scripts/npm-test.sh) and those of the PyTorch interop package in python/ (scripts/python-test.sh).
# GPU tests run on the first Vulkan adapter (lavapipe on machines without a GPU) and FAIL when none
# exists: MTSNN_REQUIRE_GPU=1 forbids skipping them. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
export MTSNN_REQUIRE_GPU=1
# Mesa complains when this is unset; the tests do not need it.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --release --workspace "$@"
scripts/web-test.sh
scripts/npm-test.sh
scripts/python-test.sh
