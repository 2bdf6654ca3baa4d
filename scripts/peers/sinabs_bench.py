#!/usr/bin/env python3
"""Training throughput of mtsnn against Sinabs on the paper's four MNIST/FashionMNIST networks.

Run by scripts/bench-peers.sh inside its virtual environment (PyTorch + Sinabs); see there.

Both sides train on the same real training images (normalised as mtsnn does it, consecutive
batches of a shuffled order, with their labels), batch 128, T = 2, S_max = 15, V_th = 10,
lambda = 0.9 (tau_m = 10), Adam at lr 0.005, the same number of threads. Each run times a fixed
number of training batches after a few untimed ones; its speed is the batch size over the median
batch time. Runs alternate between the two (which goes first alternates too), and the table
shows the median of each side's runs.

The Sinabs model is the paper's forward neuron as a Sinabs user writes it: `LIFSqueeze` (the T
steps folded into the batch dimension) with `MaxSpike(15)` as spike function, `MembraneSubtract`
as reset, one Gaussian surrogate at the first threshold (sigma^2 = alpha_W / 2 = 10, peak 1),
no input normalisation, a fixed decay of 0.9, no biases, average pooling of the spike maps, and
autograd (BPTT through the unrolled steps). The loss is mtsnn's: 1/2 sum over steps and classes
of (target count - spikes)^2, target count 5 for the true class, mean over the batch.
"""

import argparse
import gzip
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import sinabs
import sinabs.activation as sa
import sinabs.layers as sl
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]

BATCH = 128
STEPS = 2
S_MAX = 15
V_TH = 10.0
LAMBDA = 0.9  # 1 - 1/tau_m, tau_m = 10
ALPHA_W = 20.0
TARGET_COUNT = 5.0
LR = 0.005

# Mean and standard deviation of pixel/255 over the training images (mtsnn's constants).
NORMS = {"mnist": (0.13066048, 0.3081078), "fashion-mnist": (0.2860406, 0.35302424)}
DEFAULT_DIRS = {
    "mnist": ROOT / "data" / "mnist",
    "fashion-mnist": Path("/usr/share/datasets/fashion-mnist"),
}

# Network string -> (data set, timed batches per run at --scale 1).
NETS = {
    "784-800-10": ("mnist", 50),
    "784-400-400-10": ("fashion-mnist", 50),
    "15C5-P2-40C5-P2-300": ("mnist", 15),
    "32C5-P2-64C5-P2-1024": ("fashion-mnist", 6),
}


# ---------------------------------------------------------------------------------------------
# Data


def read_idx(path):
    """An IDX file of unsigned bytes (raw or gzip) as a numpy array."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data[: math.prod(dims)].reshape(dims)


def find(directory, stem):
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(
        f"{directory} has no {stem} or {stem}.gz; run scripts/fetch-data.sh"
    )


class Data:
    """The training images of a data set, served as normalised batches with their labels."""

    def __init__(self, kind, directory):
        self.kind = kind
        self.dir = directory
        self.images = read_idx(find(directory, "train-images-idx3-ubyte"))
        self.labels = read_idx(find(directory, "train-labels-idx1-ubyte")).astype(np.int64)
        if len(self.images) != len(self.labels) or len(self.images) == 0:
            raise ValueError(f"{directory}: {len(self.images)} images, {len(self.labels)} labels")
        mean, std = NORMS[kind]
        self.table = ((np.arange(256, dtype=np.float32) / 255.0 - mean) / std).astype(np.float32)

    def batches(self, seed, count, batch=BATCH):
        """`count` consecutive batches of a shuffled order (wrapping round), as tensors
        x [batch, 1, 28, 28] and labels [batch]."""
        order = np.random.default_rng(seed).permutation(len(self.labels))
        out = []
        for b in range(count):
            idx = order[(np.arange(batch) + b * batch) % len(order)]
            x = torch.from_numpy(self.table[self.images[idx]]).unsqueeze(1)
            out.append((x.contiguous(), torch.from_numpy(self.labels[idx])))
        return out


# ---------------------------------------------------------------------------------------------
# The Sinabs model


def spiking():
    """The paper's multi-threshold LIF neuron in Sinabs, on (batch * T, ...) inputs."""
    layer = sl.LIFSqueeze(
        tau_mem=-1.0 / math.log(LAMBDA),  # exp(-1/tau_mem) = 0.9
        spike_threshold=V_TH,
        spike_fn=sa.MaxSpike(S_MAX),
        reset_fn=sa.MembraneSubtract(),
        surrogate_grad_fn=sa.Gaussian(
            mu=0.0,
            sigma=math.sqrt(ALPHA_W / 2),
            grad_scale=math.sqrt(ALPHA_W / 2) * math.sqrt(2 * math.pi),
        ),
        norm_input=False,
        num_timesteps=STEPS,
    )
    layer.tau_mem.requires_grad_(False)  # the paper's decay is fixed
    return layer


def build(net, seed):
    """The Sinabs network of a paper string; weights drawn as mtsnn's eq 17 (mean V_th/N, std 0.5,
    N = the inputs' size)."""
    torch.manual_seed(seed)
    if net == "784-800-10":
        layers = [nn.Flatten(), nn.Linear(784, 800, bias=False), spiking(),
                  nn.Linear(800, 10, bias=False), spiking()]
    elif net == "784-400-400-10":
        layers = [nn.Flatten(), nn.Linear(784, 400, bias=False), spiking(),
                  nn.Linear(400, 400, bias=False), spiking(),
                  nn.Linear(400, 10, bias=False), spiking()]
    elif net == "15C5-P2-40C5-P2-300":  # no padding: 28 -> 24 -> 12 -> 8 -> 4
        layers = [nn.Conv2d(1, 15, 5, bias=False), spiking(), nn.AvgPool2d(2),
                  nn.Conv2d(15, 40, 5, bias=False), spiking(), nn.AvgPool2d(2),
                  nn.Flatten(), nn.Linear(40 * 4 * 4, 300, bias=False), spiking(),
                  nn.Linear(300, 10, bias=False), spiking()]
    elif net == "32C5-P2-64C5-P2-1024":  # padding 2: 28 -> 28 -> 14 -> 14 -> 7
        layers = [nn.Conv2d(1, 32, 5, padding=2, bias=False), spiking(), nn.AvgPool2d(2),
                  nn.Conv2d(32, 64, 5, padding=2, bias=False), spiking(), nn.AvgPool2d(2),
                  nn.Flatten(), nn.Linear(64 * 7 * 7, 1024, bias=False), spiking(),
                  nn.Linear(1024, 10, bias=False), spiking()]
    else:
        raise ValueError(f"unknown network {net}")
    model = nn.Sequential(*layers)
    inputs = {"784-800-10": [784, 800],
              "784-400-400-10": [784, 400, 400],
              "15C5-P2-40C5-P2-300": [784, 15 * 12 * 12, 640, 300],
              "32C5-P2-64C5-P2-1024": [784, 32 * 14 * 14, 3136, 1024]}[net]
    weighted = [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))]
    with torch.no_grad():
        for m, n in zip(weighted, inputs, strict=True):
            m.weight.normal_(V_TH / n, 0.5)
    return model


def run_sinabs(net, data, seed, warmup, iters, device):
    """Samples/s of the median of `iters` timed training batches after `warmup` untimed ones, on
    `device` (`cpu`, or `cuda`: the batches are moved there before the clock starts, and the clock
    stops after the device has finished the step)."""
    model = build(net, seed).to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=LR, betas=(0.9, 0.999), eps=1e-8)
    batches = data.batches(seed, warmup + iters)
    times = []
    cuda = device.startswith("cuda")
    for i, (x, y) in enumerate(batches):
        x, y = x.to(device), y.to(device)
        target = torch.nn.functional.one_hot(y, 10).float().mul_(TARGET_COUNT)
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        sinabs.reset_states(model)
        opt.zero_grad(set_to_none=True)
        # Direct encoding: the image is the input current at every step; T folded into the batch.
        xt = x.unsqueeze(1).expand(-1, STEPS, *x.shape[1:]).reshape(-1, *x.shape[1:])
        out = model(xt).view(x.shape[0], STEPS, 10)
        loss = 0.5 * (out - target.unsqueeze(1)).pow(2).sum() / x.shape[0]
        loss.backward()
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"Sinabs {net}: the loss became {loss.item()}")
        if i >= warmup:
            times.append(elapsed)
    return BATCH / statistics.median(times)


# ---------------------------------------------------------------------------------------------
# mtsnn


def mtsnn_supports_dataset(mtsnn):
    out = subprocess.run([mtsnn, "bench", "--help"], capture_output=True, text=True, check=True)
    return "--dataset" in out.stdout


def run_mtsnn(mtsnn, net, data, seed, warmup, iters, threads, real_data, backend):
    cmd = [mtsnn, "bench", "--net", net, "--backend", backend, "--json",
           "--batch", str(BATCH), "--steps", str(STEPS), "--surrogate", "f2",
           "--warmup", str(warmup), "--iters", str(iters), "--infer-iters", "1",
           "--seed", str(seed)]
    if real_data:
        cmd += ["--dataset", data.kind, "--data", str(data.dir)]
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    return report["train_samples_per_sec"], report


# ---------------------------------------------------------------------------------------------
# The machine


def cpu_info():
    model, flags = None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and model is None:
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:
        pass
    model = model or platform.processor() or "unknown CPU"
    if "avx512f" in flags:
        isa = "AVX-512 (avx512f" + "".join(
            f", {f}" for f in ("avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16") if f in flags
        ) + ")"
    elif "avx2" in flags:
        isa = "AVX2" + (" + FMA" if "fma" in flags else "") + " (no avx512f)"
    elif "asimd" in flags:
        isa = "NEON (asimd)"
    else:
        isa = "baseline (no avx2)"
    return model, isa


def busy_share(seconds=1.0):
    """Share of all cores busy with other work over `seconds` (this process sleeps meanwhile)."""

    def sample():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mtsnn", default=str(ROOT / "target" / "release" / "mtsnn"),
                    help="the mtsnn binary (default: target/release/mtsnn)")
    ap.add_argument("--nets", default=",".join(NETS),
                    help="comma-separated networks (default: all four)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="runs of each side per network, alternating (default 5)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiplies the timed batches per run (50/50/15/6 at 1)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed batches per run (default 3)")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads of both (torch.set_num_threads, RAYON_NUM_THREADS; default 2)")
    ap.add_argument("--mnist", type=Path, default=DEFAULT_DIRS["mnist"], help="MNIST directory")
    ap.add_argument("--fashion-mnist", type=Path, default=DEFAULT_DIRS["fashion-mnist"],
                    help="FashionMNIST directory")
    ap.add_argument("--device", default="cpu",
                    help="where Sinabs runs: cpu (default) or cuda (a GPU through PyTorch)")
    ap.add_argument("--mtsnn-backend", default="cpu", choices=["cpu", "gpu"],
                    help="mtsnn's --backend (default cpu; gpu beside --device cuda)")
    ap.add_argument("--json", type=Path, help="also write every run's numbers to this file")
    args = ap.parse_args()

    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    for n in nets:
        if n not in NETS:
            ap.error(f"unknown network {n}; choose from {', '.join(NETS)}")
    if not os.access(args.mtsnn, os.X_OK):
        ap.error(f"{args.mtsnn} is not an executable; build it with "
                 "`cargo build --release -p mtsnn-cli` or pass --mtsnn")
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    real_data = mtsnn_supports_dataset(args.mtsnn)
    dirs = {"mnist": args.mnist, "fashion-mnist": args.fashion_mnist}
    data = {}
    for n in nets:
        kind = NETS[n][0]
        if kind not in data:
            data[kind] = Data(kind, dirs[kind])

    model, isa = cpu_info()
    busy = busy_share()
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    print(f"# CPU: {model}, {os.cpu_count()} logical cores; instruction set: {isa}")
    print(f"# Sinabs {sinabs.__version__} on PyTorch {torch.__version__} "
          f"(MKL {'yes' if torch.backends.mkl.is_available() else 'no'}), "
          f"{torch.get_num_threads()} threads, device {args.device}; mtsnn {args.mtsnn}, RAYON_NUM_THREADS={args.threads}")
    print(f"# batch {BATCH}, T={STEPS}, S_max={S_MAX}, V_th={V_TH:g}, lambda={LAMBDA}, Adam lr {LR}; "
          f"{args.repeats} alternating runs per side, {args.warmup} untimed + N timed batches each")
    if not real_data:
        print("# note: this mtsnn's bench has no --dataset: its side trains on random inputs")
    if busy is not None:
        print(f"# other work kept {100 * busy:.0f} % of the CPU busy just before the runs")
        if busy > 0.1:
            print("# WARNING: the machine is not quiet. PyTorch's OpenMP threads wait for each other at"
                  " every operation and slow down many times when another process shares their cores"
                  " (mtsnn far less): these ratios are not meaningful; measure on a quiet machine.")
    sys.stdout.flush()

    rows, runs = [], []
    for net in nets:
        kind, base_iters = NETS[net]
        iters = max(1, round(base_iters * args.scale))
        ours, theirs, mtsnn_data, extra = [], [], None, {}
        for rep in range(args.repeats):
            seed = rep + 1
            order = ("sinabs", "mtsnn") if rep % 2 == 0 else ("mtsnn", "sinabs")
            for side in order:
                if side == "sinabs":
                    theirs.append(run_sinabs(net, data[kind], seed, args.warmup, iters,
                                             args.device))
                else:
                    sps, report = run_mtsnn(args.mtsnn, net, data[kind], seed, args.warmup,
                                            iters, args.threads, real_data, args.mtsnn_backend)
                    ours.append(sps)
                    mtsnn_data = report.get("data", "random")
                    extra = {k: report[k] for k in ("isa", "backend", "epoch_samples_per_sec")
                             if k in report}
            print(f"  {net:22} run {rep + 1}: mtsnn {ours[-1]:9.0f}  Sinabs {theirs[-1]:9.0f} samples/s",
                  file=sys.stderr, flush=True)
        m, s = statistics.median(ours), statistics.median(theirs)
        rows.append((net, kind, iters, m, s, m / s, mtsnn_data, extra))
        runs.append({"net": net, "data": kind, "timed_batches": iters, "mtsnn": ours,
                     "sinabs": theirs, "mtsnn_data": mtsnn_data, **extra})

    print()
    print("| network | data | timed batches | mtsnn (samples/s) | Sinabs (samples/s) | mtsnn / Sinabs |")
    print("|---|---|---:|---:|---:|---:|")
    for net, kind, iters, m, s, r, _, _ in rows:
        print(f"| `{net}` | {kind} | {iters} | {m:,.0f} | {s:,.0f} | {r:.2f} |")
    notes = sorted({f"{d}" for *_, d, _ in rows})
    backends = sorted({e.get("backend", "") for *_, e in rows} - {""})
    isas = sorted({e["isa"] for *_, e in rows if "isa" in e})
    print()
    print(f"mtsnn's data: {', '.join(notes)}; backend: {', '.join(backends)}"
          + (f"; instruction set: {', '.join(isas)}" if isas else ""))
    if args.json:
        args.json.write_text(json.dumps({
            "cpu": model, "isa": isa, "torch": torch.__version__, "sinabs": sinabs.__version__,
            "threads": args.threads, "repeats": args.repeats, "warmup": args.warmup, "runs": runs,
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
