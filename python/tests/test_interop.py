"""mtsnn ↔ PyTorch: `mtsnn.load(...)` computes `mtsnn infer`'s spike counts within the contract
below, and torch → mtsnn → torch is lossless.

The contract. Both sides round every operation to float32 in the same order except the sums inside
a layer's current (W·s or W ∗ s), whose order belongs to the matrix library (MKL or oneDNN under
torch, the `gemm` crate under mtsnn; each picks its kernels by instruction set). Two orders of a sum
of n products differ by at most 2·γ_n·Σ|w·s|, γ_n = n·u/(1 − n·u), u = 2⁻²⁴ (the bound of
recursive summation; blocked and tree orders are tighter). So, given the same input spikes and the
same resets, a neuron's spike count may differ only where its pre-reset potential lies within that
bound (carried over the steps by the leak λ) of a threshold k·V_th, and then by one.
`Interop.check_layers` tests exactly that, layer by layer on the spikes mtsnn records
(`mtsnn infer --record-layers`). End to end, an image's output spikes may differ only if such a
near-threshold difference occurred in it: where none did, the two forward passes are equal by
induction over the layers, and the test asserts it.

Needs: MTSNN (path of the `mtsnn` program), MNIST_DIR and FASHION_DIR (IDX test files, raw or gzip;
`scripts/fetch-data.sh` installs both). Run by `scripts/python-test.sh`.
"""

import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib
from pathlib import Path

import torch

import mtsnn
import mtsnn.module
from mtsnn import safetensors_file

ROOT = Path(__file__).resolve().parents[2]
MTSNN = os.environ.get("MTSNN", str(ROOT / "target" / "release" / "mtsnn"))
DATA = {
    "mnist": Path(os.environ.get("MNIST_DIR", ROOT / "data" / "mnist")),
    "fashion-mnist": Path(os.environ.get("FASHION_DIR", "/usr/share/datasets/fashion-mnist")),
}
IMAGES = 200
# The paper's five networks, each with the data set it is trained on and eq 17's mean: `fan-in`
# for the CNNs, whose outputs are silent at first under `pre-layer` (their conv layers give small
# currents).
PAPER_NETS = [
    ("784-800-10", "mnist", "pre-layer"),
    ("784-400-400-10", "fashion-mnist", "pre-layer"),
    ("15C5-P2-40C5-P2-300", "mnist", "fan-in"),
    ("32C5-P2-64C5-P2-1024", "fashion-mnist", "fan-in"),
    ("96C3-256C3-P2-384C3-P2-384C3-256C3-1024-1024", "cifar10", "fan-in"),
]


def test_images(dataset, n):
    """The first `n` test images as uint8 `[n, C, H, W]`: the data set's, or for CIFAR-10 (not
    on the registries) seeded random pixels."""
    if dataset == "cifar10":
        g = torch.Generator().manual_seed(10)
        return torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    d = DATA[dataset]
    path = next((d / f for f in ("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz") if (d / f).exists()), None)
    if path is None:
        raise AssertionError(f"no {dataset} test images in {d}; run scripts/fetch-data.sh")
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
        raw = f.read()
    magic, count, h, w = struct.unpack(">IIII", raw[:16])
    assert magic == 0x803 and count >= n
    return torch.frombuffer(bytearray(raw[16 : 16 + n * h * w]), dtype=torch.uint8).reshape(n, 1, h, w)


def write_png(path, image):
    """A minimal 8-bit PNG (grayscale or RGB) of a uint8 `[C, H, W]` tensor."""
    c, h, w = image.shape
    rows = image.permute(1, 2, 0).reshape(h, w * c)
    data = b"".join(b"\x00" + bytes(r.tolist()) for r in rows)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    colour = 0 if c == 1 else 2
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))


def run(*args):
    out = subprocess.run([MTSNN, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"mtsnn {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def infer_spikes(model_path, dataset, images, tmp):
    """`mtsnn infer --json --record-layers` on PNGs of `images`: output spike counts
    `[n, T, classes]` and every weighted layer's spike counts `[T, n, neurons]`."""
    paths = []
    for i, img in enumerate(images):
        p = Path(tmp) / f"img{i:04}.png"
        write_png(p, img)
        paths.append(str(p))
    layers_file = Path(tmp) / "layers.safetensors"
    out = run("infer", "--model", str(model_path), "--dataset", dataset, "--invert", "no", "--backend", "cpu",
              "--json", "--record-layers", str(layers_file), *paths)
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [r["image"] for r in rows] == paths
    tensors, _ = safetensors_file.read(layers_file)
    layers = [tensors[f"layer{i}.spikes"] for i in range(len(tensors))]
    return torch.tensor([r["spikes"] for r in rows], dtype=torch.float32), layers


# Unit roundoff of float32.
U = 2.0**-24


class Interop(unittest.TestCase):
    def check_layers(self, model, x, recorded):
        """The contract, layer by layer: each weighted layer is fed mtsnn's spikes of the layer
        below and reset by mtsnn's own spikes, so only the order of the sums in its current
        differs; a spike count that differs from mtsnn's must do so by one, at a pre-reset
        potential within the rounding bound of the threshold between the two counts. Returns,
        per image, whether any neuron of it differed."""
        h = model.hyper
        steps, s_max = int(h["steps"]), float(h["s_max"])
        v_th = mtsnn.module.f32(h["v_th"])
        lam = mtsnn.module.f32(1.0 - mtsnn.module.f32(1.0 / mtsnn.module.f32(h["tau_m"])))
        batch = x.shape[0]
        s = x.reshape(batch, *model.input_shape).to(torch.float32)
        touched = torch.zeros(batch, dtype=torch.bool)
        near = 0
        weights, theirs_by_layer = iter(model.weights), iter(recorded)
        for index, layer in enumerate(model.layers):
            if layer.kind == "pool":
                s = mtsnn.module._pool(s, layer.kernel, layer.max)
                continue
            w = next(weights).to(torch.float32)
            if layer.kind == "dense":
                current = s.reshape(s.shape[0], -1) @ w.t()
                magnitude = s.reshape(s.shape[0], -1).double().abs() @ w.double().abs().t()
            else:
                current = torch.nn.functional.conv2d(s, w, padding=layer.padding)
                magnitude = torch.nn.functional.conv2d(s.double().abs(), w.double().abs(), padding=layer.padding)
            n = w[0].numel()
            sum_bound = 2 * (n * U / (1 - n * U)) * magnitude
            per_step = current.reshape(-1, batch, *current.shape[1:])
            sum_bound = sum_bound.reshape(-1, batch, *current.shape[1:])
            theirs = next(theirs_by_layer).to(torch.float32).reshape(steps, batch, *current.shape[1:])
            u = torch.zeros_like(per_step[0])
            bound = torch.zeros_like(sum_bound[0])
            for t in range(steps):
                i = 0 if per_step.shape[0] == 1 else t
                pre = (u * lam) + per_step[i]
                ours = torch.floor(torch.clamp(pre / v_th, 0.0, s_max))
                # The current's bound, the one carried by the leak, and a few roundings of the
                # potential's own operations (the same on both sides, counted for safety).
                bound = bound * lam + sum_bound[i]
                margin = bound + 8 * U * pre.double().abs()
                differ = ours != theirs[t]
                if differ.any():
                    boundary = v_th * torch.maximum(ours, theirs[t]).double()
                    distance = (pre.double() - boundary).abs()
                    by_one = (ours - theirs[t]).abs() <= 1
                    within = distance <= margin
                    bad = differ & ~(by_one & within)
                    if bad.any():
                        self.fail(
                            f"{model.net}: weighted layer {index}, step {t + 1}: {int(bad.sum())} spike counts "
                            f"differ from mtsnn's beyond the rounding bound (largest distance to the threshold "
                            f"{distance[bad].max().item():.3g}, bound there {margin[bad].max().item():.3g})"
                        )
                    touched |= differ.reshape(batch, -1).any(dim=1)
                    near += int(differ.sum())
                u = pre - theirs[t] * v_th
            s = theirs.reshape(steps * batch, *current.shape[1:])
        if near:
            print(f"\n{model.net}: {near} spike counts differ from mtsnn's, all within the rounding bound", file=sys.stderr)
        return touched

    def assert_same_spikes(self, model, model_path, dataset, images, tmp):
        expected, recorded = infer_spikes(model_path, dataset, images, tmp)
        x = model.normalise(images)
        touched = self.check_layers(model, x, recorded)
        got = model(x).permute(1, 0, 2)
        self.assertEqual(got.shape, expected.shape)
        differ = (got != expected).reshape(got.shape[0], -1).any(dim=1)
        # Where no neuron of an image came near enough a threshold to round the other way, the
        # whole forward pass is mtsnn's, outputs included.
        unexplained = (differ & ~touched).nonzero().flatten().tolist()
        self.assertEqual(unexplained, [], f"{model.net}: images whose outputs differ with no near-threshold cause")
        predicted, theirs = got.sum(dim=1).argmax(dim=1), expected.sum(dim=1).argmax(dim=1)
        disagree = (predicted != theirs).nonzero().flatten().tolist()
        self.assertTrue(set(disagree) <= set(differ.nonzero().flatten().tolist()))
        # Not a vacuous match: the outputs spike, and not all images get the same counts.
        self.assertGreater(expected.sum().item(), 0, f"{model.net}: silent outputs")
        self.assertGreater(len({tuple(r.flatten().tolist()) for r in expected}), 1)
        if differ.any():
            print(f"{model.net}: outputs differ on {int(differ.sum())} of {len(differ)} images "
                  f"(predictions on {len(disagree)})", file=sys.stderr)

    def test_shipped_models_give_mtsnn_infer_spike_counts(self):
        for dataset in ("mnist", "fashion-mnist"):
            with self.subTest(dataset=dataset), tempfile.TemporaryDirectory() as tmp:
                path = ROOT / "web" / "models" / f"{dataset}.safetensors"
                model = mtsnn.load(path)
                self.assertEqual(model.metadata["dataset"], dataset)
                self.assert_same_spikes(model, path, dataset, test_images(dataset, IMAGES), tmp)

    def test_paper_networks_with_generated_weights_give_mtsnn_infer_spike_counts(self):
        for i, (net, dataset, init) in enumerate(PAPER_NETS):
            with self.subTest(net=net), tempfile.TemporaryDirectory() as tmp:
                shape = (3, 32, 32) if dataset == "cifar10" else (1, 28, 28)
                model = mtsnn.SpikingNet(net, shape, 10, {**mtsnn.DEFAULT_HYPER, "init": init})
                model.init_eq17(torch.Generator().manual_seed(i))
                saved = Path(tmp) / "torch.safetensors"
                mtsnn.save(model, saved)
                # mtsnn reads it and writes it again; torch reads that back bit for bit.
                exported = Path(tmp) / "export.safetensors"
                run("export", "--model", str(saved), "--dataset", dataset, "--f32", "--out", str(exported))
                back = mtsnn.load(exported)
                self.assertEqual((back.net, back.input_shape), (model.net, model.input_shape))
                # mtsnn writes every hyper-parameter back, adding those it defaults (lr_schedule).
                self.assertEqual({k: back.hyper[k] for k in model.hyper}, model.hyper)
                for a, b in zip(model.weights, back.weights):
                    self.assertTrue(torch.equal(a.view(torch.int32), b.view(torch.int32)))
                # CIFAR-10's net costs 40× the MNIST CNN's work per image: fewer images for it.
                count = 64 if dataset == "cifar10" else IMAGES
                self.assert_same_spikes(back, saved, dataset, test_images(dataset, count), tmp)

    def test_the_layer_check_catches_a_weight_that_differs(self):
        # The output layer's weights each 0.05 larger (its currents move by 0.05 · Σ s):
        # spikes that differ far from any threshold, which the contract does not allow.
        with tempfile.TemporaryDirectory() as tmp:
            path = ROOT / "web" / "models" / "mnist.safetensors"
            model = mtsnn.load(path)
            images = test_images("mnist", 50)
            _, recorded = infer_spikes(path, "mnist", images, tmp)
            with torch.no_grad():
                model.weights[1][:, :].add_(0.05)
            with self.assertRaisesRegex(AssertionError, "beyond the rounding bound"):
                self.check_layers(model, model.normalise(images), recorded)

    def test_a_unit_scale_model_normalises_as_mtsnn_infer_does(self):
        # A model trained with `--input-scale unit` sees p/255; its file records that in `hyper`
        # alone (no norm_mean/norm_std), and both sides follow it.
        with tempfile.TemporaryDirectory() as tmp:
            model = mtsnn.SpikingNet("784-800-10", (1, 28, 28), 10, {**mtsnn.DEFAULT_HYPER, "input_scale": "unit"})
            model.init_eq17(torch.Generator().manual_seed(7))
            saved = Path(tmp) / "unit.safetensors"
            mtsnn.save(model, saved)
            images = test_images("mnist", IMAGES)
            x = model.normalise(images)
            self.assertEqual(x.max().item(), 1.0)
            self.assertEqual(x.min().item(), 0.0)
            self.assert_same_spikes(model, saved, "mnist", images, tmp)

    def test_saved_weights_evaluate_in_mtsnn_as_the_original(self):
        with tempfile.TemporaryDirectory() as tmp:
            original = ROOT / "web" / "models" / "mnist.safetensors"
            copy = Path(tmp) / "copy.safetensors"
            mtsnn.save(mtsnn.load(original), copy)
            args = ["eval", "--dataset", "mnist", "--data", str(DATA["mnist"]), "--backend", "cpu", "--limit", "1000", "--json"]
            a = json.loads(run(*args, "--model", str(original)))
            b = json.loads(run(*args, "--model", str(copy)))
            self.assertEqual(a["correct"], b["correct"])
            self.assertGreater(a["correct"], 900)

    def test_network_strings_parse_as_mtsnn_parses_them(self):
        layers = mtsnn.network.parse("15C5-P2-40C5-P2-300", (1, 28, 28), 10)
        self.assertEqual([l.output for l in layers], [(15, 24, 24), (15, 12, 12), (40, 8, 8), (40, 4, 4), (300, 1, 1), (10, 1, 1)])
        layers = mtsnn.network.parse("32C5-P2-64C5-P2-1024", (1, 28, 28), 10)
        self.assertEqual(layers[2].output, (64, 14, 14))
        self.assertEqual(mtsnn.network.parse("3C3p0-MP2-4", (1, 10, 10), 4)[1].max, True)
        for bad in ("", "785-10", "0C3", "C3"):
            with self.assertRaises(ValueError):
                mtsnn.network.parse(bad, (1, 28, 28), 10)


if __name__ == "__main__":
    unittest.main()
