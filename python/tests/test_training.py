"""The trainable neuron (`mtsnn.torch`) against independent references and against mtsnn's engine.

- Its gradients equal eq 11–13's per-synapse trace computed directly in float64 (paper mode), and
  plain autograd through the unrolled forward (BPTT), with and without the reset path.
- One training step in torch (forward, eq 6, backward, the engine's Adam, Table I) from a checkpoint
  gives the weights one step of `mtsnn train --resume` gives on the same 128 MNIST samples, within
  1e-5 relative (as `Engine.check_step` states it), for an MLP and two CNNs (average and max
  pooling), with both gradients; and a second step from the checkpoint torch saved with its Adam
  state, which mtsnn resumes. The two sides differ only in the order of the sums inside matrix
  products and convolutions (see the contract in test_interop.py); mtsnn shuffles the batch, which
  reorders the same sums.
- `mtsnn eval` of a torch-trained model counts as many correct test images as the torch forward.
- A few epochs in torch reach the test accuracy of `mtsnn train` on the same data from the same
  initial weights.
- `DEFAULT_HYPER` is what `mtsnn train` uses when given no options.

Needs MTSNN (the `mtsnn` program) and MNIST_DIR (the MNIST IDX files, raw or gzip; default
data/mnist, installed by `scripts/fetch-data.sh mnist`). Run by `scripts/python-test.sh`.
"""

import gzip
import json
import math
import os
import struct
import subprocess
import tempfile
import unittest
from pathlib import Path

import torch

import mtsnn
import mtsnn.torch as mt
from mtsnn import safetensors_file

ROOT = Path(__file__).resolve().parents[2]
MTSNN = os.environ.get("MTSNN", str(ROOT / "target" / "release" / "mtsnn"))
MNIST = Path(os.environ.get("MNIST_DIR", ROOT / "data" / "mnist"))
# The step test's tolerances, relative (see `Engine.check_step`): the weights', and the gradients'
# (to the largest of their layer; measured ≤ 8e-6 on an AVX2 machine, the conv layer on the image
# summing 73,728 products per weight in another order).
RTOL = 1e-5
GRAD_RTOL = 1e-4


def run(*args):
    out = subprocess.run([MTSNN, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"mtsnn {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def idx(part, kind):
    """An MNIST IDX file of `part` ("train" or "t10k") as uint8 images `[n, 1, 28, 28]` or labels."""
    name = f"{part}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    path = next((MNIST / f for f in (name, name + ".gz") if (MNIST / f).exists()), None)
    if path is None:
        raise AssertionError(f"no {name} in {MNIST}; run scripts/fetch-data.sh mnist")
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
        raw = f.read()
    if kind == "images":
        _, n, h, w = struct.unpack(">IIII", raw[:16])
        return torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(n, 1, h, w)
    return torch.frombuffer(bytearray(raw[8:]), dtype=torch.uint8).long()


_NORMS = {}


def mnist_norms(tmp):
    """MNIST's normalisation as mtsnn has it: the mean and std an `mtsnn export` records."""
    if not _NORMS:
        model = mt.SpikingNetwork("784-10")
        path, exported = Path(tmp) / "norm.safetensors", Path(tmp) / "norm-export.safetensors"
        mtsnn.save(model, path)
        run("export", "--model", str(path), "--dataset", "mnist", "--f32", "--out", str(exported))
        _, meta = safetensors_file.read(exported)
        _NORMS.update(mean=float(meta["norm_mean"]), std=float(meta["norm_std"]))
    return _NORMS["mean"], _NORMS["std"]


def relative_difference(ours, theirs):
    """|a − b| / |b| elementwise, in float64 (0/0 counts as 0)."""
    diff = (ours.double() - theirs.double()).abs()
    return torch.where(diff == 0, torch.zeros_like(diff), diff / theirs.double().abs())


class Gradients(unittest.TestCase):
    """The backward pass against references written from the equations, in float64."""

    def mlp(self, grad, detach_reset, surrogate, steps=4):
        hyper = {**mtsnn.DEFAULT_HYPER, "steps": steps, "grad": grad, "detach_reset": detach_reset,
                 "surrogate": surrogate}
        model = mt.SpikingNetwork("6-7-5-3", (6, 1, 1), 3, hyper)
        g = torch.Generator().manual_seed(5)
        with torch.no_grad():
            for w in model.weights:
                w.copy_(torch.rand(w.shape, generator=g, dtype=torch.float64) * 8 - 2)
        x = torch.rand(4, 6, generator=g, dtype=torch.float64) * 3
        labels = torch.tensor([0, 1, 2, 0])
        model.weights = torch.nn.ParameterList(torch.nn.Parameter(w.detach().double()) for w in model.weights)
        return model, x, labels

    def test_paper_gradients_equal_the_direct_trace_of_eq_11_to_13(self):
        for surrogate in ("f1", "f2", "f3"):
            for detach_reset in (False, True):
                with self.subTest(surrogate=surrogate, detach_reset=detach_reset):
                    model, x, labels = self.mlp("paper", detach_reset, surrogate)
                    out, layers = model(x, record_layers=True)
                    model.loss(out, labels).backward()
                    want = self.direct_trace(model, x, labels, layers, detach_reset)
                    for i, (w, ref) in enumerate(zip(model.weights, want)):
                        self.assertTrue(ref.abs().max() > 0, f"layer {i}: no gradient")
                        torch.testing.assert_close(w.grad, ref, rtol=1e-9, atol=1e-12)

    def direct_trace(self, model, x, labels, layers, detach_reset):
        """Eq 9–13 per synapse: δ of the output from eq 10 ((s − y)/B · f′), of a hidden layer from
        eq 9 (f′ · Wᵀ δ above); e_ji[t] = (λ e_ji[t−1] + s_in_i[t]) / (1 + V_th f′_j[t]) (without the
        division when the reset is detached); ∂L/∂W_ji = Σ_b Σ_t δ_j[t] e_ji[t]."""
        neuron = model.neuron
        h = model.hyper
        steps, batch = h["steps"], x.shape[0]
        lam, v_th = 1 - 1 / h["tau_m"], h["v_th"]
        ws = [w.detach() for w in model.weights]
        ins = [x.expand(steps, *x.shape)] + [s for s in layers[:-1]]
        # Potentials of each layer from its input spikes (eq 3–5 again, in float64).
        vs = []
        for w, s_in in zip(ws, ins):
            u = torch.zeros(batch, w.shape[0], dtype=torch.float64)
            v = []
            for t in range(steps):
                pre = lam * u + s_in[t] @ w.t()
                v.append(pre)
                u = pre - v_th * torch.floor(torch.clamp(pre / v_th, 0, h["s_max"]))
            vs.append(torch.stack(v))
        fs = [neuron.surrogate_grad(v) for v in vs]
        y = torch.zeros(steps, batch, 3, dtype=torch.float64)
        y[:, torch.arange(batch), labels] = h["target_count"]
        deltas = [None] * len(ws)
        deltas[-1] = (layers[-1] - y) / batch * fs[-1]
        for i in range(len(ws) - 2, -1, -1):
            deltas[i] = fs[i] * (deltas[i + 1] @ ws[i + 1])
        grads = []
        for w, s_in, f, d in zip(ws, ins, fs, deltas):
            e = torch.zeros(batch, *w.shape, dtype=torch.float64)
            total = torch.zeros_like(w)
            for t in range(steps):
                den = 1.0 if detach_reset else (1 + v_th * f[t]).unsqueeze(2)
                e = (lam * e + s_in[t].unsqueeze(1)) / den
                total += (d[t].unsqueeze(2) * e).sum(0)
            grads.append(total)
        return grads

    def test_bptt_gradients_equal_autograd_through_the_unrolled_forward(self):
        for net, shape in (("6-7-5-3", (6, 1, 1)), ("3C3-P2-4C3p0-P2-3", (1, 10, 10))):
            for detach_reset in (False, True):
                with self.subTest(net=net, detach_reset=detach_reset):
                    hyper = {**mtsnn.DEFAULT_HYPER, "steps": 3, "grad": "bptt", "detach_reset": detach_reset}
                    model = mt.SpikingNetwork(net, shape, 3, hyper)
                    g = torch.Generator().manual_seed(3)
                    model.weights = torch.nn.ParameterList(
                        torch.nn.Parameter(torch.rand(w.shape, generator=g, dtype=torch.float64) * 8 - 2)
                        for w in model.weights)
                    x = torch.rand(5, *shape, generator=g, dtype=torch.float64) * 3
                    labels = torch.tensor([0, 1, 2, 0, 1])
                    model.loss(model(x), labels).backward()
                    ref = [w.detach().clone().requires_grad_(True) for w in model.weights]
                    out = self.unrolled(model, ref, x, detach_reset)
                    y = torch.zeros_like(out)
                    y[:, torch.arange(5), labels] = 5.0
                    (0.5 * ((out - y) ** 2).sum() / 5).backward()
                    for i, (w, r) in enumerate(zip(model.weights, ref)):
                        self.assertTrue(r.grad.abs().max() > 0, f"layer {i}: no gradient")
                        torch.testing.assert_close(w.grad, r.grad, rtol=1e-9, atol=1e-12)

    def unrolled(self, model, weights, x, detach_reset):
        """The forward pass as plain torch operations, with a spike function whose derivative is
        the surrogate: autograd then does BPTT."""
        neuron = model.neuron
        h = model.hyper
        steps, lam, v_th = h["steps"], 1 - 1 / h["tau_m"], h["v_th"]

        class Spike(torch.autograd.Function):
            @staticmethod
            def forward(ctx, v):
                ctx.save_for_backward(v)
                return torch.floor(torch.clamp(v / v_th, 0, h["s_max"]))

            @staticmethod
            def backward(ctx, grad):
                (v,) = ctx.saved_tensors
                return grad * neuron.surrogate_grad(v)

        s = [x] * steps
        ws = iter(weights)
        for layer in model.layers:
            if layer.kind == "pool":
                s = [torch.nn.functional.avg_pool2d(st, layer.kernel) for st in s]
                continue
            w = next(ws)
            u, out = 0, []
            for t in range(steps):
                if layer.kind == "dense":
                    cur = s[t].reshape(s[t].shape[0], -1) @ w.t()
                else:
                    cur = torch.nn.functional.conv2d(s[t], w, padding=layer.padding)
                v = lam * u + cur
                spikes = Spike.apply(v)
                u = v - v_th * (spikes.detach() if detach_reset else spikes)
                out.append(spikes)
            s = out
        return torch.stack(s)

    def test_max_pooling_passes_the_gradient_to_the_first_maximum(self):
        # Ties in both windows (spike counts are integers): the first in row-major order wins.
        x = torch.tensor([[[[1.0, 3.0, 1.0, 1.0], [3.0, 2.0, 3.0, 3.0]]]], requires_grad=True)
        out = mtsnn.module._pool(x, 2, True)
        self.assertEqual(out.tolist(), [[[[3.0, 3.0]]]])
        out.sum().backward()
        self.assertEqual(x.grad.tolist(), [[[[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]]])

    def test_the_neuron_alone_gives_its_input_g(self):
        # Dense + neuron as separate modules under BPTT: autograd's Wᵀ G is the layer's.
        torch.manual_seed(0)
        layer = mt.SpikingDense(6, 4, mt.MultiThresholdLIF(grad="bptt"), dtype=torch.float64)
        neuron = mt.MultiThresholdLIF(grad="bptt")
        x = (torch.rand(3, 5, 6, dtype=torch.float64) * 20).requires_grad_(True)
        s = layer(x)
        s.sum().backward()
        wx = x.detach().clone().requires_grad_(True)
        w = layer.weight.detach().clone().requires_grad_(True)
        s2 = neuron(wx @ w.t())
        s2.sum().backward()
        self.assertTrue(torch.equal(s, s2))
        torch.testing.assert_close(w.grad, layer.weight.grad, rtol=1e-12, atol=0)
        torch.testing.assert_close(wx.grad, x.grad, rtol=1e-12, atol=0)
        # A constant current (steps=T) gets Σ_t G.
        c = (torch.rand(5, 4, dtype=torch.float64) * 30).requires_grad_(True)
        neuron(c, steps=3).sum().backward()
        c3 = c.detach().expand(3, 5, 4).clone().requires_grad_(True)
        neuron(c3).sum().backward()
        torch.testing.assert_close(c.grad, c3.grad.sum(0), rtol=1e-12, atol=0)

    def test_tensors_are_made_on_the_input_s_device(self):
        # The meta device holds no data: any tensor made on the CPU instead meets it in an
        # operation and fails. (Convolutions have no backward there: their forward is checked.)
        dev = torch.device("meta")
        for net, train in (("784-30-10", True), ("4C5-P2-6C3-MP2-10", False)):
            with self.subTest(net=net):
                model = mt.SpikingNetwork(net).to(dev)
                x = model.normalise(torch.zeros(8, 1, 28, 28, dtype=torch.uint8, device=dev), 0.13, 0.31)
                self.assertEqual(x.device, dev)
                out = model(x)
                self.assertEqual(out.device, dev)
                if train:
                    model.loss(out, torch.zeros(8, dtype=torch.long, device=dev)).backward()
                    model.optimizer().step()
                    self.assertEqual(model.weights[0].device, dev)

    @unittest.skipUnless(torch.cuda.is_available(), "no CUDA device")
    def test_cuda_computes_what_the_cpu_computes(self):
        images, labels = idx("t10k", "images")[:64], idx("t10k", "labels")[:64]
        for net in ("784-100-10", "15C5-P2-40C5-P2-300"):
            with self.subTest(net=net):
                cpu = mt.SpikingNetwork(net, hyper={"init": "fan-in"})
                cpu.init_eq17(torch.Generator().manual_seed(1))
                gpu = mt.SpikingNetwork(net, hyper={"init": "fan-in"}).cuda()
                gpu.load_state_dict(cpu.state_dict())
                outs = []
                for model, device in ((cpu, "cpu"), (gpu, "cuda")):
                    x = model.normalise(images.to(device), 0.1307, 0.3081)
                    out = model(x)
                    model.loss(out, labels.to(device)).backward()
                    model.optimizer().step()
                    outs.append(out.cpu())
                # Spikes may differ where a potential lies within rounding of a threshold.
                self.assertGreater((outs[0] == outs[1]).float().mean().item(), 0.99)
                for a, b in zip(cpu.weights, gpu.weights):
                    self.assertLess((a - b.cpu()).abs().max().item(), 0.02)


class Engine(unittest.TestCase):
    """Torch against `mtsnn train` and `mtsnn eval`."""

    def test_default_hyper_parameters_are_the_clis(self):
        with tempfile.TemporaryDirectory() as tmp:
            run("train", "--net", "784-10", "--dataset", "mnist", "--data", str(MNIST), "--epochs", "1",
                "--limit-train", "16", "--limit-test", "16", "--batch", "16", "--backend", "cpu",
                "--out", str(Path(tmp) / "run"))
            _, meta = safetensors_file.read(Path(tmp) / "run" / "checkpoint.safetensors")
            theirs = json.loads(meta["hyper"])
            self.assertEqual({k: theirs[k] for k in mtsnn.DEFAULT_HYPER}, mtsnn.DEFAULT_HYPER)
            neuron = mt.MultiThresholdLIF()
            for key in ("v_th", "tau_m", "s_max", "surrogate", "alpha_h", "alpha_w", "grad", "detach_reset"):
                self.assertEqual(getattr(neuron, key), theirs[key])

    def test_learning_rate_schedules_are_mtsnn_s(self):
        # η per epoch as `mtsnn train` reports it, against lr_at at each epoch's first update (two
        # updates per epoch); milestones at 1.5 and 2.5 epochs round half away from zero, as Rust.
        for schedule in (["--lr-schedule", "step", "--lr-decay-at", "0.3,0.5"], ["--lr-schedule", "cosine"]):
            with self.subTest(schedule=schedule[1]), tempfile.TemporaryDirectory() as tmp:
                run("train", "--net", "784-10", "--dataset", "mnist", "--data", str(MNIST), "--epochs", "5",
                    "--limit-train", "128", "--limit-test", "16", "--batch", "64", "--crop", "0", "--backend", "cpu",
                    *schedule, "--out", str(Path(tmp) / "run"))
                _, meta = safetensors_file.read(Path(tmp) / "run" / "checkpoint.safetensors")
                hyper = json.loads(meta["hyper"])
                theirs = [mt.f32(json.loads(line)["lr"]) for line in (Path(tmp) / "run" / "metrics.jsonl").open()]
                self.assertEqual([mt.lr_at(hyper, 2 * e + 1) for e in range(5)], theirs)

    def step_both(self, model, checkpoint, tmp, name):
        """One more training step from `checkpoint` (which `model` and its `optimizer()` hold) in
        torch and in `mtsnn train --resume`, on the first 128 MNIST training samples. Per weighted
        layer: the weights before, and each side's weights and Adam moments after."""
        epoch = int(model.metadata.get("epoch", "0"))
        out = Path(tmp) / name
        run("train", "--resume", str(checkpoint), "--dataset", "mnist", "--data", str(MNIST), "--limit-train", "128",
            "--limit-test", "16", "--batch", "128", "--epochs", str(epoch + 1), "--crop", "0", "--backend", "cpu",
            "--out", str(out))
        tensors, meta = safetensors_file.read(out / "checkpoint.safetensors")
        self.assertEqual(json.loads(meta["hyper"])["grad"], model.hyper["grad"])

        before = [w.detach().clone() for w in model.weights]
        opt = model.optimizer()
        mean, std = mnist_norms(tmp)
        x = model.normalise(idx("train", "images")[:128], mean, std)
        labels = idx("train", "labels")[:128]
        opt.zero_grad()
        spikes = model(x)
        loss = model.loss(spikes, labels)
        loss.backward()
        self.assertGreater(spikes.sum().item(), 0, f"{model.net}: silent outputs")
        opt.step()
        step = int(opt.state[model.weights[0]]["step"])
        self.assertEqual(meta["adam_step"], str(step))
        # The loss is a sum of halves of squared integers: equal unless an output spike count
        # differs, which only a potential within rounding of a threshold can cause (see the
        # contract in test_interop.py); that would change gradients beyond the tolerances below.
        theirs_loss = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["train_loss"]
        self.assertEqual(loss.item(), theirs_loss, f"{model.net} {model.hyper['grad']}: output spikes differ "
                         "from mtsnn train's (a potential within float rounding of a threshold?)")
        layers = []
        for i, w in enumerate(model.weights):
            st = opt.state[w]
            layers.append({
                "step": step,
                "before": before[i],
                "ours": (w.detach().clone(), st["exp_avg"].clone(), st["exp_avg_sq"].clone()),
                "theirs": tuple(tensors[f"layer{i}.{k}"] for k in ("weight", "adam_m", "adam_v")),
            })
        # For the next step: the model holds torch's weights and Adam state, as a checkpoint.
        model.metadata["epoch"] = str(epoch + 1)
        after = Path(tmp) / f"{name}.safetensors"
        mtsnn.save(model, after, optimizer=opt)
        model.adam_state = {"step": step, "m": [o["ours"][1] for o in layers], "v": [o["ours"][2] for o in layers]}
        return layers, after

    def check_step(self, what, layer, h):
        """The criterion of "a step in torch equals a step of mtsnn within 1e-5 relative":
        - Adam's moments (m ∝ the gradient, v ∝ its square): |m_torch − m_mtsnn| ≤ GRAD_RTOL ·
          max |m_mtsnn| of the layer, and the same for v (the gradients' sums run in another order,
          so a gradient that cancels to near 0 is equal only at the layer's scale);
        - the weights: |w_torch − w_mtsnn| ≤ RTOL · max(|w_mtsnn|, |w_before|) + |u_torch − u_mtsnn|,
          u = η·(m / c₁) / (sqrt(v / c₂) + ε) Adam's update from each side's moments (float64). The
          first term is 1e-5 relative (of the weight, or of the weight before the step where the
          step cancels it to near 0); the second is what Adam makes of the moments' difference: for
          a gradient within a few ε of 0 the first update η·g/(|g| + ε) is η/ε-steep in g, and
          turns an agreement of the gradients at 1e-9 of their scale into 1e-4 of a weight.
        Returns the measured figures, for the report."""
        (w_t, m_t, v_t), (w_e, m_e, v_e) = layer["ours"], layer["theirs"]
        errors = {}
        for kind, ours, theirs in (("m", m_t, m_e), ("v", v_t, v_e)):
            scale = theirs.abs().max().item()
            self.assertGreater(scale, 0, f"{what}: no gradient")
            errors[kind] = (ours.double() - theirs.double()).abs().max().item() / scale
            self.assertLessEqual(errors[kind], GRAD_RTOL,
                                 f"{what}: Adam's {kind} differs by {errors[kind]:.3g} of its largest")
        t = layer["step"]
        c1, c2 = 1 - mt._powi(h["beta1"], t), 1 - mt._powi(h["beta2"], t)

        def update(m, v):
            return h["lr"] * (m.double() / c1) / ((v.double() / c2).sqrt() + h["eps"])

        w_t, w_e, w_0 = w_t.double(), w_e.double(), layer["before"].double()
        diff = (w_t - w_e).abs()
        allowed = RTOL * torch.maximum(w_e.abs(), w_0.abs()) + (update(m_t, v_t) - update(m_e, v_e)).abs()
        worst = (diff - allowed).argmax()
        self.assertTrue(bool((diff <= allowed).all()),
                        f"{what}: weight {worst.item()} differs by {diff.flatten()[worst].item():.3g}, "
                        f"allowed {allowed.flatten()[worst].item():.3g}")
        plain = relative_difference(w_t, w_e)
        return {"w_rel": plain.max().item(), "w_over": int((plain > RTOL).sum()), "n": plain.numel(), **errors}

    def test_training_steps_equal_mtsnn_train(self):
        """One step from fresh weights for each network and gradient; for the MLP a second step
        from the checkpoint torch saved with its Adam state, which mtsnn resumes."""
        cases = [
            ("784-100-10", "pre-layer", 2),
            ("15C5-P2-40C5-P2-300", "fan-in", 1),
            ("4C3-MP2-8C3-MP2-10", "fan-in", 1),
        ]
        h = mtsnn.DEFAULT_HYPER
        report = []
        for net, init, steps in cases:
            for grad in ("paper", "bptt"):
                with self.subTest(net=net, grad=grad), tempfile.TemporaryDirectory() as tmp:
                    model = mt.SpikingNetwork(net, (1, 28, 28), 10, {**h, "grad": grad, "init": init})
                    model.init_eq17(torch.Generator().manual_seed(2))
                    checkpoint = Path(tmp) / "start.safetensors"
                    mtsnn.save(model, checkpoint)
                    for step in range(1, steps + 1):
                        layers, checkpoint = self.step_both(model, checkpoint, tmp, f"step{step}")
                        for i, layer in enumerate(layers):
                            what = f"{net} {grad} step {step} layer {i}"
                            r = self.check_step(what, layer, h)
                            report.append(f"{what}: Adam m, v max |Δ| / max {r['m']:.1e}, {r['v']:.1e}; weights "
                                          f"max |Δ|/|w| {r['w_rel']:.1e}, {r['w_over']} of {r['n']} over 1e-5")
        print("\n" + "\n".join(report))

    def test_torch_training_matches_mtsnn(self):
        """A few epochs in torch: `mtsnn eval` of the result counts what the torch forward counts,
        and the accuracy is that of `mtsnn train` from the same start on the same data."""
        net, train_n, test_n, epochs, batch = "784-100-10", 3000, 1000, 3, 128
        with tempfile.TemporaryDirectory() as tmp:
            mean, std = mnist_norms(tmp)
            model = mt.SpikingNetwork(net)
            model.init_eq17(torch.Generator().manual_seed(3))
            start = Path(tmp) / "start.safetensors"
            mtsnn.save(model, start)
            x = model.normalise(idx("train", "images")[:train_n], mean, std)
            labels = idx("train", "labels")[:train_n]
            opt = model.optimizer()
            g = torch.Generator().manual_seed(4)
            for _ in range(epochs):
                order = torch.randperm(train_n, generator=g)
                for b in range(0, train_n, batch):
                    pick = order[b : b + batch]
                    opt.zero_grad()
                    model.loss(model(x[pick]), labels[pick]).backward()
                    opt.step()
            model.metadata["epoch"] = str(epochs)
            trained = Path(tmp) / "torch.safetensors"
            mtsnn.save(model, trained, optimizer=opt)

            test_x = model.normalise(idx("t10k", "images")[:test_n], mean, std)
            test_y = idx("t10k", "labels")[:test_n]
            with torch.no_grad():
                ours = int((model.predict(model(test_x)) == test_y).sum())
            theirs = json.loads(run("eval", "--model", str(trained), "--dataset", "mnist", "--data", str(MNIST),
                                    "--limit", str(test_n), "--backend", "cpu", "--json"))
            self.assertEqual(theirs["correct"], ours)

            run("train", "--resume", str(start), "--dataset", "mnist", "--data", str(MNIST),
                "--limit-train", str(train_n), "--limit-test", str(test_n), "--batch", str(batch),
                "--epochs", str(epochs), "--crop", "0", "--backend", "cpu", "--out", str(Path(tmp) / "engine"))
            engine = json.loads(run("eval", "--model", str(Path(tmp) / "engine" / "model.safetensors"),
                                    "--dataset", "mnist", "--data", str(MNIST), "--limit", str(test_n),
                                    "--backend", "cpu", "--json"))
            print(f"\n{net}, {train_n} samples × {epochs} epochs: torch {ours}/{test_n}, "
                  f"mtsnn train {engine['correct']}/{test_n}")
            self.assertGreater(ours, 0.8 * test_n)
            # Same start, same data, another shuffle: the two land within a few points.
            self.assertLessEqual(abs(ours - engine["correct"]), 0.03 * test_n)


if __name__ == "__main__":
    unittest.main()
