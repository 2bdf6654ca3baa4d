#!/bin/bash
# mtsnn bench of two builds, alternating, on the two CNNs (AVX-512 and MTSNN_ISA=avx2) and, in the
# first 3 rounds, the two MLPs; one JSON per run into OUT:  run.sh OUT ROUNDS
# Expects the builds at /tmp/mtsnn-before and /tmp/mtsnn-after, MNIST in /work/main/data/mnist and
# FashionMNIST in /usr/share/datasets/fashion-mnist. Background trainings are paused while it runs
# and resumed on exit.
trap 'pkill -CONT -f "mtsnn.*(sweep|run-point)"' EXIT INT TERM
pkill -STOP -f 'mtsnn.*(sweep|run-point)'
out=$1; rounds=$2; mkdir -p $out
for r in $(seq 1 $rounds); do
  for isa in avx512 avx2; do
    for bin in before after; do
      MTSNN_ISA=$isa /tmp/mtsnn-$bin bench --net 15C5-P2-40C5-P2-300 --backend cpu --dataset mnist --data /work/main/data/mnist --iters 20 --epoch-batches 20 --infer-iters 50 --json > $out/$bin-$isa-mnist-r$r.json 2>/dev/null
      MTSNN_ISA=$isa /tmp/mtsnn-$bin bench --net 32C5-P2-64C5-P2-1024 --backend cpu --dataset fashion-mnist --data /usr/share/datasets/fashion-mnist --iters 8 --epoch-batches 8 --infer-iters 20 --json > $out/$bin-$isa-fashion-r$r.json 2>/dev/null
    done
  done
  if [ $r -le 3 ]; then for bin in before after; do
    /tmp/mtsnn-$bin bench --net 784-800-10 --backend cpu --dataset mnist --data /work/main/data/mnist --iters 60 --epoch-batches 60 --infer-iters 50 --json > $out/$bin-avx512-mlp800-r$r.json 2>/dev/null
    /tmp/mtsnn-$bin bench --net 784-400-400-10 --backend cpu --dataset fashion-mnist --data /usr/share/datasets/fashion-mnist --iters 60 --epoch-batches 60 --infer-iters 50 --json > $out/$bin-avx512-mlp400-r$r.json 2>/dev/null
  done; fi
done
