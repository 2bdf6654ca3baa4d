#!/usr/bin/env bash
# The studies of results/sweeps/ANALYSIS.md: the paper's Section III-D grids (Figs 6-9), BPTT against
# the paper's backward pass (with and without the reset path), and multi- against single-threshold
# neurons, on FashionMNIST 784-400-400-10 with the CPU backend: 5 epochs per point, 20 for the
# time-step grid (Fig 9's train/test gap needs more epochs to show). Each grid writes
# results/sweeps/<name>/; running this again continues whatever was interrupted (complete points are
# skipped), and spike statistics are written beside the models of the S_max and threshold grids.
# Usage (from the repository root): results/sweeps/run.sh   (MTSNN=path/to/mtsnn to choose the binary)
set -u
M=${MTSNN:-target/release/mtsnn}
COMMON=(--net 784-400-400-10 --dataset fashion-mnist --backend cpu --seed 1)
"$M" plot surrogates --out results/surrogates.png
"$M" plot surrogates --s-max 15 --v-th 10 --alpha-w 20 --out results/surrogates-table1.png
status=0
for grid in surrogate alpha-w s-max grad threshold-count; do
    "$M" sweep --grid "$grid" "${COMMON[@]}" --epochs 5 --out "results/sweeps/$grid" || status=1
done
"$M" sweep --grid grad --detach-reset "${COMMON[@]}" --epochs 5 --out results/sweeps/grad-detach-reset || status=1
"$M" sweep --grid steps "${COMMON[@]}" --epochs 20 --out results/sweeps/steps || status=1
for model in results/sweeps/{s-max,threshold-count}/*/model.safetensors; do
    "$M" eval --model "$model" --backend cpu --stats --json > "$(dirname "$model")/spike-stats.json" || status=1
done
exit $status
