"""mtsnn ↔ PyTorch: spike counts of `mtsnn.load(...)` equal `mtsnn infer --json`'s, and
torch → mtsnn → torch is lossless.

Needs: MTSNN (path of the `mtsnn` program), MNIST_DIR and FASHION_DIR (IDX test files, raw or gzip;
`scripts/fetch-data.sh` installs both). Run by `scripts/python-test.sh`.
"""

import gzip
import json
import os
import struct
import subprocess
import tempfile
import unittest
import zlib
from pathlib import Path

import torch

import mtsnn

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
    """`mtsnn infer --json` on PNGs of `images`: output spike counts `[n, T, classes]`."""
    paths = []
    for i, img in enumerate(images):
        p = Path(tmp) / f"img{i:04}.png"
        write_png(p, img)
        paths.append(str(p))
    out = run("infer", "--model", str(model_path), "--dataset", dataset, "--invert", "no", "--backend", "cpu", "--json", *paths)
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [r["image"] for r in rows] == paths
    return torch.tensor([r["spikes"] for r in rows], dtype=torch.float32)


class Interop(unittest.TestCase):
    def assert_same_spikes(self, model, model_path, dataset, images, tmp):
        expected = infer_spikes(model_path, dataset, images, tmp)
        got = model(model.normalise(images)).permute(1, 0, 2)
        self.assertEqual(got.shape, expected.shape)
        differ = (got != expected).any(dim=(1, 2)).nonzero().flatten().tolist()
        self.assertEqual(differ, [], f"{model.net}: images whose output spikes differ from mtsnn infer")
        # Not a vacuous match: the outputs spike, and not all images get the same counts.
        self.assertGreater(expected.sum().item(), 0, f"{model.net}: silent outputs")
        self.assertGreater(len({tuple(r.flatten().tolist()) for r in expected}), 1)

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
                self.assert_same_spikes(back, saved, dataset, test_images(dataset, IMAGES), tmp)

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
