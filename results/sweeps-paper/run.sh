#!/usr/bin/env bash
# The Figs 6-9 grids of results/sweeps/ANALYSIS.md again, at the epochs the paper states (Section III-D:
# 100 for Fig 7, 200 for the others: "All testing accuracy is reported after training 200 epochs"),
# with random cropping as in the paper's protocol (--crop 2), FashionMNIST 784-400-400-10, seed 1, the
# CPU backend on one thread. Run it again to continue after an interruption: complete points are
# skipped, unfinished ones resume from their checkpoints. Each point's full model and checkpoint stay
# out of git (5.7 MB each); its F16 export is kept (`mtsnn export`).
# Usage (from the repository root): results/sweeps-paper/run.sh   (MTSNN=path/to/mtsnn to choose the binary)
set -u
M=${MTSNN:-target/release/mtsnn}
COMMON=(--net 784-400-400-10 --dataset fashion-mnist --backend cpu --seed 1 --crop 2)
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1}
status=0
"$M" sweep --grid alpha-w "${COMMON[@]}" --epochs 100 --out results/sweeps-paper/alpha-w || status=1
for grid in surrogate steps s-max; do
    "$M" sweep --grid "$grid" "${COMMON[@]}" --epochs 200 --out "results/sweeps-paper/$grid" || status=1
done
for model in results/sweeps-paper/*/*/model.safetensors; do
    [[ -f "${model%.safetensors}-f16.safetensors" ]] ||
        "$M" export --model "$model" --out "${model%.safetensors}-f16.safetensors" || status=1
done
# Fig 8's spike statistics of the final models (ANALYSIS.md's table).
for model in results/sweeps-paper/s-max/*/model.safetensors; do
    stats="$(dirname "$model")/spike-stats.json"
    [[ -f "$stats" ]] ||
        "$M" eval --model "$model" --backend cpu --stats --json >"$stats" || status=1
done
exit $status
