#!/usr/bin/env bash
# Runs every test of mtsnn: installs what they need (scripts/setup.sh; the browser tests install
# Chromium, playwright-core and the wasm tool chain themselves), then the whole workspace's tests in
# release mode, then the browser tests of the demo (scripts/web-test.sh), those of the npm package
# (scripts/npm-test.sh), those of the PyTorch package in python/ (scripts/python-test.sh), and a sweep
# on a one-node Slurm cluster (scripts/slurm-test.sh).
# GPU tests run on the first Vulkan adapter (lavapipe on machines without a GPU) and FAIL when none
# exists: MTSNN_REQUIRE_GPU=1 forbids skipping them. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The tree itself: no tracked file over 5 MB outside web/models/, no broken link in a Markdown file.
scripts/check-tree.sh
# No function of the core's non-test code longer than about 120 lines (125 allowed).
python3 scripts/longest-fns.py crates/mtsnn-core/src 3 125
scripts/setup.sh
export MTSNN_REQUIRE_GPU=1
# Mesa complains when this is unset; the tests do not need it.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --release --workspace "$@"
# A sweep on a one-node Slurm cluster started here, one task preempted mid-epoch and requeued.
scripts/slurm-test.sh
scripts/web-test.sh
scripts/npm-test.sh
scripts/python-test.sh
