#!/usr/bin/env bash
# Benchmarks of the speed table in docs/performance.md: training samples/s (median of timed batches after warm-up) and
# batch-1 inference latency of the paper's networks, T = 2, batch 128, one JSON object per line.
# Each trains on its data set's real training images (data/mnist, /usr/share/datasets/fashion-mnist;
# scripts/fetch-data.sh) where present, else on random inputs: the "data" field says which.
# scripts/bench-peers.sh compares these numbers with Sinabs on PyTorch.
# Usage: scripts/bench.sh [BACKEND] [MTSNN]   (default: cpu, target/release/mtsnn)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
backend="${1:-cpu}"
mtsnn="${2:-target/release/mtsnn}"
echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, backend $backend" >&2
"$mtsnn" bench --net 784-400-400-10 --backend "$backend" --iters 40 --json
"$mtsnn" bench --net 784-800-10 --backend "$backend" --iters 40 --json
"$mtsnn" bench --net 15C5-P2-40C5-P2-300 --backend "$backend" --iters 8 --infer-iters 50 --json
"$mtsnn" bench --net 32C5-P2-64C5-P2-1024 --backend "$backend" --iters 3 --infer-iters 20 --json
