#!/usr/bin/env bash
# Batch-1 inference with F32 and with 8-bit dense weights (`--infer-weights i8`), alternating,
# RUNS runs each per network and thread count; prints each run's median latency (µs) as TSV.
# Usage: [MTSNN_ISAS="native avx2"] scripts/bench-i8-inference.sh [MTSNN] [RUNS]
# (from the repository root, MNIST in data/mnist; native = the best level the CPU has)
set -euo pipefail
bin=${1:-target/release/mtsnn}
runs=${2:-5}
printf 'isa\tnet\tthreads\tweights\trun\tlatency_us\n'
for isa in ${MTSNN_ISAS:-native}; do
  for net in 784-800-10 15C5-P2-40C5-P2-300; do
    for threads in 1 2; do
      for run in $(seq "$runs"); do
        for weights in f32 i8; do
          isa_env=()
          [ "$isa" != native ] && isa_env=(MTSNN_ISA="$isa")
          us=$(env "${isa_env[@]}" "$bin" --threads "$threads" bench --net "$net" --backend cpu \
            --iters 2 --epoch-batches 0 --infer-iters 3000 --infer-weights "$weights" --json |
            python3 -c 'import json,sys; print(round(json.load(sys.stdin)["infer_latency_us"], 1))')
          printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$isa" "$net" "$threads" "$weights" "$run" "$us"
        done
      done
    done
  done
done
