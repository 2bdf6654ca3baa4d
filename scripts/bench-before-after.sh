#!/usr/bin/env bash
# `mtsnn bench` of two builds on the four paper networks, alternating (old, new, old, new, ...), CPU
# backend on 2 threads, REPS times each (default 3); one JSON per run into OUT:
#   scripts/bench-before-after.sh OLD_BINARY NEW_BINARY OUT
# Pause background trainings first (kill -STOP), as the numbers need a quiet machine.
set -euo pipefail
OLD=$1; NEW=$2; OUT=$3; REPS=${REPS:-3}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p "$OUT"
for net in 784-800-10 784-400-400-10 15C5-P2-40C5-P2-300 32C5-P2-64C5-P2-1024; do
  iters=40; [[ $net == 32C5* ]] && iters=8; [[ $net == 15C5* ]] && iters=20
  for r in $(seq 1 $REPS); do
    for which in old new; do
      bin=$OLD; [[ $which == new ]] && bin=$NEW
      "$bin" bench --net $net --backend cpu --threads 2 --iters $iters --epoch-batches $iters --json > "$OUT"/$which-$net-$r.json 2>/dev/null
    done
  done
done
