#!/usr/bin/env bash
# One-shot check on a machine with a hardware GPU: the GPU tests on its adapter, the GEMM kernel
# alone (`mtsnn bench --gemm`: 1024³ with the adapter's own tile and with each other kernel, each
# tile with scalar loads and with 16-byte loads side by side, 4096³, and the paper MLP's
# first-layer GEMM), then `mtsnn bench` of the four paper networks on the GPU
# and, for scale, on that machine's CPU; tables at the end. Meant to finish within 8 minutes.
# The GEMM table gives "% of f32 peak" for the GPUs the script knows (H100/H200 SXM, A100, L40S,
# RTX 4090), or for any GPU with GPU_F32_PEAK_TFLOPS set. The network table gives both of mtsnn's
# training speeds: per batch (`train_batch`, the host waits for every batch) and per epoch (`train`'s
# path: data resident on the device, no host wait between batches), and a profiled MLP batch (device
# counters, GPU time per kernel) follows. Where PEER_PYTHON (default python3) imports torch and sinabs
# and sees CUDA, the same networks run in Sinabs on the GPU beside mtsnn's GPU backend
# (scripts/peers/sinabs_bench.py --device cuda --mtsnn-backend gpu); otherwise the log says why not.
# Real data where data/mnist and the FashionMNIST directory exist (carry them), else random inputs.
#
# Usage: scripts/gpu-bench.sh [BINDIR] [OUTDIR]
#   BINDIR  holds `mtsnn` and the GPU test binaries `gpu_backend`, `gpu_kernels`, `gpu_conv` built
#           beforehand (scripts/gpu-bench.sh --prepare BINDIR builds and strips them here); without
#           it they are built with cargo.
#   OUTDIR  where the log and the bench JSON go (default: results/bench/gpu-<date>).
# The GPU tests run with MTSNN_REQUIRE_GPU=1 (no adapter is a failure, never a skip) and
# WGPU_BACKEND=vulkan. On a machine whose Vulkan loader is missing, install libvulkan1 first.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tests=(gpu_backend gpu_kernels gpu_conv gpu_resident)

if [[ "${1:-}" == "--prepare" ]]; then
    dest="${2:?usage: scripts/gpu-bench.sh --prepare BINDIR}"
    set -e
    mkdir -p "$dest"
    cargo build --release -p mtsnn-cli
    cp target/release/mtsnn "$dest/"
    for t in "${tests[@]}"; do
        bin=$(cargo test --release -p mtsnn-tests --test "$t" --no-run --message-format=json 2>/dev/null |
            python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("executable") and m.get("target",{}).get("kind")==["test"]: print(m["executable"])' | tail -1)
        cp "$bin" "$dest/$t"
    done
    strip "$dest"/*
    ls -la "$dest"
    exit 0
fi

bindir="${1:-}"
out="${2:-results/bench/gpu-$(date -u +%F)}"
mkdir -p "$out"
if [[ -z "$bindir" ]]; then
    bindir="$(mktemp -d)"
    "$0" --prepare "$bindir" || exit 1
fi
export MTSNN_REQUIRE_GPU=1 WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
log="$out/gpu-bench.log"
{
    echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
} | tee "$log"

failed=0
for t in "${tests[@]}"; do
    echo "== $t" | tee -a "$log"
    timeout 150 "$bindir/$t" --test-threads 4 >"$out/$t.log" 2>&1
    rc=$?
    grep -vE "XDG_RUNTIME_DIR" "$out/$t.log" >>"$log"
    grep -E "^test result|panicked|FAILED" "$out/$t.log"
    [[ $rc -eq 0 ]] || { failed=1; echo "$t: exit status $rc" | tee -a "$log"; }
    rm -f "$out/$t.log"
done

gemm="$out/gemm.jsonl"
: >"$gemm"
echo "== GEMM" | tee -a "$log"
for spec in "1024 auto" "1024 128x128" "1024 128x128-vec4" "1024 64x64" "1024 64x64-vec4" "1024 32x32" \
    "1024 32x32-vec4" "1024 direct" "4096 128x128" "4096 auto" "256x400x784 32x32" "256x400x784 auto"; do
    read -r shape path <<<"$spec"
    timeout 60 "$bindir/mtsnn" bench --gemm "$shape" --gemm-path "$path" --iters 5 --json 2>>"$log" |
        tee -a "$gemm" >>"$log"
done
python3 - "$gemm" <<'EOF' | tee -a "$log"
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# f32 (non-tensor) peak, TFLOP/s, from the vendors' data sheets.
known = {"H200": 66.9, "H100 80GB HBM3": 66.9, "H100 SXM": 66.9, "A100": 19.5, "L40S": 91.6, "RTX 4090": 82.6}
peak = float(os.environ.get("GPU_F32_PEAK_TFLOPS", "0")) or next(
    (v for k, v in known.items() if rows and k in rows[0]["adapter"]), 0)
print("| m×n×k | op | kernel | ms | GFLOP/s | % of f32 peak |")
print("|---|---|---|---:|---:|---:|")
for r in rows:
    op = ("Aᵀ" if r["a_t"] else "A") + "·" + ("Bᵀ" if r["b_t"] else "B")
    pct = f"{100 * r['gflops'] / (1000 * peak):.1f}" if peak else "—"
    print(f"| {r['m']}×{r['n']}×{r['k']} | {op} | {r['kernel']} | {r['ms']:.3f} | {r['gflops']:,.0f} | {pct} |")
if rows:
    print(f"GEMM on {rows[0]['adapter']}, f32 peak {peak or 'unknown'} TFLOP/s")
# Scalar (gemm.wgsl) against 16-byte loads (gemm_vec4.wgsl) on the same tile, shape and op.
import re
by = {}
for r in rows:
    k = re.match(r"(gemm(?:_vec4)?\.wgsl) tile (\S+)", r["kernel"])
    if k:
        op = ("Aᵀ" if r["a_t"] else "A") + "·" + ("Bᵀ" if r["b_t"] else "B")
        by.setdefault((f"{r['m']}×{r['n']}×{r['k']}", op, k[2]), {})[k[1]] = r["gflops"]
pairs = [(key, d) for key, d in by.items() if len(d) == 2]
if pairs:
    print("| m×n×k | op | tile | scalar loads GFLOP/s | vec4 loads GFLOP/s | vec4 / scalar |")
    print("|---|---|---|---:|---:|---:|")
    for (shape, op, tile), d in pairs:
        s, v = d["gemm.wgsl"], d["gemm_vec4.wgsl"]
        print(f"| {shape} | {op} | {tile} | {s:,.0f} | {v:,.0f} | {v / s:.2f} |")
EOF

json="$out/bench.jsonl"
: >"$json"
nets=("784-400-400-10 40 200" "784-800-10 40 200" "15C5-P2-40C5-P2-300 20 50" "32C5-P2-64C5-P2-1024 10 20")
for backend in gpu cpu; do
    for spec in "${nets[@]}"; do
        read -r net iters infer <<<"$spec"
        timeout 60 "$bindir/mtsnn" bench --net "$net" --backend "$backend" --iters "$iters" \
            --infer-iters "$infer" --json 2>>"$log" | tee -a "$json" >>"$log"
    done
done
echo "== profiled batch (784-400-400-10, GPU)" | tee -a "$log"
timeout 60 "$bindir/mtsnn" bench --net 784-400-400-10 --backend gpu --iters 5 --infer-iters 5 \
    --profile 2>&1 | tee -a "$log"
# The conv weight gradients split across workgroups (the adapter's chunk count) against the single
# pass (MTSNN_WEIGHT_GRAD_CHUNKS=1): conv_weight_grad:chunks + conv_weight_grad:sum vs conv_weight_grad.
for chunks in auto 1 auto 1; do
    echo "== profiled batch (15C5-P2-40C5-P2-300, GPU, weight-gradient chunks: $chunks)" | tee -a "$log"
    if [ "$chunks" = auto ]; then
        env -u MTSNN_WEIGHT_GRAD_CHUNKS timeout 60 "$bindir/mtsnn" bench --net 15C5-P2-40C5-P2-300 \
            --backend gpu --iters 5 --infer-iters 5 --epoch-batches 0 --profile 2>&1 | tee -a "$log"
    else
        MTSNN_WEIGHT_GRAD_CHUNKS="$chunks" timeout 60 "$bindir/mtsnn" bench --net 15C5-P2-40C5-P2-300 \
            --backend gpu --iters 5 --infer-iters 5 --epoch-batches 0 --profile 2>&1 | tee -a "$log"
    fi
done
python3 - "$json" <<'EOF' | tee -a "$log"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    kind = "gpu" if r["backend"].startswith("gpu") else "cpu"
    by.setdefault(r["net"], {})[kind] = r
print("| network | GPU samples/s per batch | GPU per epoch | CPU per batch | CPU per epoch | GPU/CPU (epoch) | GPU batch-1 µs | CPU batch-1 µs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for net, d in by.items():
    g, c = d.get("gpu"), d.get("cpu")
    f = lambda r, k: f"{r[k]:,.0f}" if r and k in r else "—"
    ek = "epoch_samples_per_sec"
    ratio = f"{g[ek] / c[ek]:.2f}" if g and c and ek in g and ek in c else "—"
    print(f"| `{net}` | {f(g, 'train_samples_per_sec')} | {f(g, ek)} | {f(c, 'train_samples_per_sec')} | {f(c, ek)} | {ratio} | {f(g, 'infer_latency_us')} | {f(c, 'infer_latency_us')} |")
for r in rows[:1]:
    print(f"GPU: {r['backend']}")
EOF
peer="${PEER_PYTHON:-python3}"
echo "== PyTorch (Sinabs) on the GPU beside mtsnn's GPU backend" | tee -a "$log"
if why=$("$peer" -c 'import torch, sinabs; assert torch.cuda.is_available(), "CUDA not available to torch " + torch.__version__' 2>&1); then
    timeout 150 "$peer" scripts/peers/sinabs_bench.py --mtsnn "$bindir/mtsnn" --device cuda \
        --mtsnn-backend gpu --repeats 3 --threads "$(nproc)" --json "$out/peers-gpu.json" 2>&1 | tee -a "$log"
else
    echo "no PyTorch comparison: $peer cannot run Sinabs on CUDA here ($(echo "$why" | tail -1))" | tee -a "$log"
fi
echo "GPU tests: $([[ $failed -eq 0 ]] && echo passed || echo FAILED)" | tee -a "$log"
exit $failed
