#!/usr/bin/env bash
# Peer benchmark (issue 9): training samples/s of mtsnn's CPU backend against Sinabs on PyTorch, on
# the paper's four MNIST/FashionMNIST networks, the same real data, batch 128, T = 2, S_max = 15,
# V_th = 10, lambda = 0.9, alternating runs; prints a table with the CPU model and instruction set.
#
# Usage: scripts/bench-peers.sh [--install-only] [OPTIONS OF scripts/peers/sinabs_bench.py]
#   e.g. scripts/bench-peers.sh --repeats 5 --scale 2          (longer, steadier)
#        scripts/bench-peers.sh --nets 784-400-400-10 --mtsnn /path/to/mtsnn
#        scripts/bench-peers.sh --help                           (all options)
# A minute or two on a quiet 2-core machine with the defaults, plus the one-time install. Measure on a
# quiet machine: PyTorch's two OpenMP threads slow down many times over when other work shares the
# cores (the table then carries a warning).
#
# It installs, once, PyTorch and Sinabs from the package registry (PyPI) into .venv-peers/ in the
# repository (git-ignored; remove it to start afresh; VENV=DIR puts it elsewhere). PyPI's Linux
# torch wheel is a CUDA build: its libraries refuse to load without the CUDA runtime packages it
# names, so those come too (≈ 3 GB of nvidia-* wheels; the venv is ≈ 4.5 GB, ≈ 1 minute on a fast
# link), but not triton (≈ 1 GB) nor cuda-bindings, which only GPU code paths import.
# It fetches missing data sets with scripts/fetch-data.sh and builds target/release/mtsnn when absent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TORCH_VERSION="${TORCH_VERSION:-2.15.0}"
SINABS_VERSION="${SINABS_VERSION:-3.1.3}"
VENV="${VENV:-.venv-peers}"
PYTHON="${PYTHON:-python3}"
# Requirements never installed: GPU-only (triton, cuda-bindings), or Sinabs's hardware tool chain
# (samna, only imported by its chip back end), or installed without dependencies below.
SKIP="torch sinabs nir nirtorch triton cuda-bindings samna"

install_only=0
args=()
for a in "$@"; do
    if [[ "$a" == "--install-only" ]]; then install_only=1; else args+=("$a"); fi
done

venv_ok() {
    [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" - "$TORCH_VERSION" "$SINABS_VERSION" <<'EOF' 2>/dev/null
import sys
import torch, sinabs, sinabs.layers, sinabs.activation
assert torch.__version__.split("+")[0] == sys.argv[1], torch.__version__
assert sinabs.__version__ == sys.argv[2], sinabs.__version__
x = torch.randn(8, 4, requires_grad=True)
(x @ torch.randn(4, 3)).sum().backward()
EOF
}

install_venv() {
    local start=$SECONDS
    echo "bench-peers: installing torch $TORCH_VERSION and sinabs $SINABS_VERSION into $VENV" \
        "(≈ 3.5 GB of wheels, a few minutes) …" >&2
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PYTHON" -m venv "$VENV" || {
            echo "bench-peers: '$PYTHON -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2
            exit 1
        }
    fi
    local pip=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)
    # 1. The packages whose own requirements would drag in GPU-only wheels, without dependencies.
    "${pip[@]}" install --no-deps "torch==$TORCH_VERSION" "sinabs==$SINABS_VERSION" nirtorch \
        "nir<=1.0.4"
    # 2. Their remaining requirements (markers evaluated for this machine, extras left out).
    local reqs
    mapfile -t reqs < <("$VENV/bin/python" - $SKIP <<'EOF'
import sys
from importlib.metadata import requires
from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name
skip = {canonicalize_name(n) for n in sys.argv[1:]}
seen = set()
for dist in ("torch", "sinabs", "nir", "nirtorch"):
    for text in requires(dist) or []:
        r = Requirement(text)
        if r.marker is not None and not r.marker.evaluate({"extra": ""}):
            continue
        if canonicalize_name(r.name) in skip or str(r) in seen:
            continue
        seen.add(str(r))
        print(str(r))
EOF
    )
    # pip warns that the skipped requirements are missing: expected, so those lines are dropped.
    "${pip[@]}" install "${reqs[@]}" 2>&1 \
        | grep -v -e "which is not installed" -e "dependency resolver does not currently" || true
    if ! venv_ok; then
        echo "bench-peers: torch/sinabs do not import in $VENV after the install; see above" >&2
        "$VENV/bin/python" -c "import torch, sinabs" || true
        exit 1
    fi
    echo "bench-peers: $VENV ready ($(du -sh "$VENV" | cut -f1), $((SECONDS - start)) s)" >&2
}

venv_ok || install_venv
if ((install_only)); then
    exit 0
fi

# The data sets (the Python side and mtsnn read the same files).
if [[ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
    scripts/fetch-data.sh fashion-mnist
fi
if [[ ! -e data/mnist/train-images-idx3-ubyte && ! -e data/mnist/train-images-idx3-ubyte.gz ]]; then
    scripts/fetch-data.sh mnist
fi
# mtsnn, unless another binary is given.
if [[ ! " ${args[*]-} " =~ " --mtsnn" && ! -x target/release/mtsnn ]]; then
    cargo build --release -p mtsnn-cli
fi
exec "$VENV/bin/python" scripts/peers/sinabs_bench.py ${args[@]+"${args[@]}"}
