#!/usr/bin/env bash
# How long a 4-point sweep takes on this machine with --jobs 1 (one point at a time, all threads)
# and --jobs 2 (two points at once, half the threads each), alternating, RUNS times each; prints
# every run's wall time and the medians. The points: NET (default 784-400-400-10) on DATASET
# (default fashion-mnist), seeds 1-4, 2 epochs on the first LIMIT (default 20000) training images,
# CPU backend; extra arguments go to every sweep. Pause other work on the machine first.
# Usage: [NET=… DATASET=… LIMIT=…] scripts/bench-sweep-jobs.sh [RUNS] [sweep options...]
#   (RUNS default 3; e.g. NET=15C5-P2-40C5-P2-300 DATASET=mnist LIMIT=5000 scripts/bench-sweep-jobs.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${1:-3}"
shift || true
cargo build --release -p mtsnn-cli --quiet
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
sweep() {
    local jobs="$1" start end
    shift
    start="$(date +%s.%N)"
    target/release/mtsnn sweep --set seed=1,2,3,4 --net "${NET:-784-400-400-10}" \
        --dataset "${DATASET:-fashion-mnist}" --epochs 2 --limit-train "${LIMIT:-20000}" \
        --limit-test 2000 --backend cpu --force \
        --out "$scratch/jobs-$jobs" --jobs "$jobs" "$@" >/dev/null 2>&1
    end="$(date +%s.%N)"
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }'
}
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores, $(grep -o -m1 avx512f /proc/cpuinfo || echo 'no avx512f')"
one=() two=()
for ((i = 1; i <= runs; i++)); do
    one+=("$(sweep 1 "$@")")
    two+=("$(sweep 2 "$@")")
    echo "run $i: --jobs 1 ${one[-1]} s, --jobs 2 ${two[-1]} s"
done
m1="$(printf '%s\n' "${one[@]}" | median)"
m2="$(printf '%s\n' "${two[@]}" | median)"
echo "median: --jobs 1 $m1 s, --jobs 2 $m2 s (--jobs 1 / --jobs 2 = $(awk -v a="$m1" -v b="$m2" 'BEGIN { printf "%.2f", a / b }'))"
