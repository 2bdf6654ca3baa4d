"""The paper's forward pass as a `torch.nn.Module`, computed as mtsnn's engine computes it.

Per time step t = 1..T and weighted layer (eq 3–5 of Xu et al., "Direct Training via Backpropagation
for Ultra-low Latency Spiking Neural Networks with Multi-threshold"):

    I[t] = W s_in[t]                     (dense), or W ∗ s_in[t] (convolution, stride 1)   eq 3
    v[t] = λ u[t−1] + I[t],  λ = 1 − 1/τ_m,  u[0] = 0                                      eq 3
    s[t] = floor(clamp(v[t] / V_th, 0, S_max))   (up to S_max spikes per step)             eq 4
    u[t] = v[t] − V_th s[t]                      (reset by subtraction)                    eq 5

The input is direct-encoded (the same normalised image at every step); pooling averages (or takes
the maximum of) k×k windows of spike counts and has no neuron. Every operation is rounded to float32
in mtsnn's order (the leak's product and sum separately, a true division by V_th), so the spike
counts equal `mtsnn infer --json`'s wherever float32 sums of the currents agree; summation order
inside the matrix products and convolutions differs between libraries, so a membrane potential
within a few float32 ulps of a threshold can, rarely, round the other way.

Forward only: this module has no surrogate gradient (spike counts are piecewise constant in v).
`mtsnn.torch.SpikingNetwork` is the same network trainable, with the paper's surrogates and backward
pass (`mtsnn.load(path, trainable=True)`).
"""

import json
import struct

import torch
import torch.nn.functional as F

from . import network, safetensors_file

FORMAT = "mtsnn-1"
# Table I of the paper with T = 2: what mtsnn trains with by default. The one definition of the
# defaults on the Python side (`mtsnn.torch` takes its defaults from here); it mirrors `Hyper::default`
# of crates/mtsnn-core/src/hyper.rs, and python/tests/test_training.py checks that it equals what
# `mtsnn train` writes into a checkpoint when given no options.
DEFAULT_HYPER = {
    "tau_m": 10.0,
    "v_th": 10.0,
    "s_max": 15,
    "alpha_h": 1.0,
    "alpha_w": 20.0,
    "surrogate": "f2",
    "steps": 2,
    "target_count": 5.0,
    "lr": 0.005,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "grad": "paper",
    "detach_reset": False,
    "init": "pre-layer",
}


def f32(x):
    """`x` rounded to the nearest float32 (one IEEE operation done in float64 and rounded once
    gives the float32 result, since 53 ≥ 2·24 + 2)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


class SpikingNet(torch.nn.Module):
    """A multi-threshold spiking network of mtsnn's network string `net`.

    `hyper` holds mtsnn's hyper-parameters (default: `DEFAULT_HYPER`, Table I with T = 2); the
    forward pass reads `steps`, `tau_m`, `v_th` and `s_max`, and `save` stores all of them.

    `weights[i]` is weighted layer i's tensor: dense `[out, in]`, convolution
    `[out_ch, in_ch, k, k]` (mtsnn's layout, which is also torch's). `metadata` keeps the
    checkpoint's other entries (data set, normalisation, class names, epoch) for `save`.
    """

    def __init__(self, net, input_shape=(1, 28, 28), classes=10, hyper=None, metadata=None):
        super().__init__()
        self.net = net
        self.input_shape = tuple(input_shape)
        self.classes = classes
        self.hyper = dict(DEFAULT_HYPER if hyper is None else hyper)
        self.metadata = dict(metadata or {})
        self.layers = network.parse(net, self.input_shape, classes)
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.zeros(l.weight_shape), requires_grad=False)
            for l in self.layers
            if l.has_weights
        )

    def init_eq17(self, generator=None):
        """Eq 17's initialisation: W ~ Normal(V_th / N, 0.5), N the size of the layer's input
        (`init: pre-layer`, mtsnn's default) or its fan-in (`init: fan-in`)."""
        weighted = [l for l in self.layers if l.has_weights]
        for w, l in zip(self.weights, weighted):
            n = l.input[0] * l.input[1] * l.input[2]
            if self.hyper["init"] == "fan-in" and l.kind == "conv":
                n = l.input[0] * l.kernel * l.kernel
            with torch.no_grad():
                device = generator.device if generator is not None else w.device
                noise = torch.randn(w.shape, generator=generator, dtype=torch.float64, device=device)
                w.copy_(noise * 0.5 + self.hyper["v_th"] / n)
        return self

    @torch.no_grad()
    def forward(self, x, record_layers=False):
        """Output spike counts `[T, batch, classes]` of normalised inputs `x` (`[batch, C, H, W]`
        or `[batch, C·H·W]`). With `record_layers`, also every layer's output `[T, batch, ...]`."""
        h = self.hyper
        steps, s_max = int(h["steps"]), float(h["s_max"])
        v_th = f32(h["v_th"])
        lam = f32(1.0 - f32(1.0 / f32(h["tau_m"])))
        batch = x.shape[0]
        # A layer's input as [T·B, ...] (or [B, ...] while it is the same at every step).
        s = x.reshape(batch, *self.input_shape).to(torch.float32)
        constant = True
        recorded = []
        weights = iter(self.weights)
        for layer in self.layers:
            if layer.kind == "pool":
                s = _pool(s, layer.kernel, layer.max)
            else:
                w = next(weights).to(torch.float32)
                if layer.kind == "dense":
                    current = s.reshape(s.shape[0], -1) @ w.t()
                else:
                    current = F.conv2d(s, w, padding=layer.padding)
                s = _neurons(current, constant, steps, batch, lam, v_th, s_max)
                constant = False
            recorded.append(s if not constant else s.expand(steps, *s.shape).reshape(-1, *s.shape[1:]))
        out = s.reshape(steps, batch, self.classes)
        if record_layers:
            return out, [r.reshape(steps, batch, *r.shape[1:]) for r in recorded]
        return out

    def normalise(self, pixels, mean=None, std=None, device=None):
        """Normalised inputs from 8-bit pixels `[batch, C, H, W]` (or `[batch, H, W]` for one
        channel): (p/255 − mean)/std per channel in float32, as mtsnn computes it. `mean`/`std`
        default to the `norm_mean`/`norm_std` an `mtsnn export` stores in its metadata, else, for a
        model trained with `--input-scale unit` (hyper `input_scale`), to 0 and 1: inputs p/255.
        The result lies on `device` (default: the pixels' device, the CPU for other inputs)."""
        c = self.input_shape[0]
        unit = self.hyper.get("input_scale") == "unit"
        stored_mean = self.metadata.get("norm_mean", ",".join(["0"] * c) if unit else None)
        stored_std = self.metadata.get("norm_std", ",".join(["1"] * c) if unit else None)
        mean = _per_channel(mean, stored_mean, "mean")
        std = _per_channel(std, stored_std, "std")
        if len(mean) != c or len(std) != c:
            raise ValueError(f"{c} channel(s) need {c} means and standard deviations")
        # One table of the 256 possible values per channel, each operation rounded as in float32.
        if device is None:
            device = pixels.device if isinstance(pixels, torch.Tensor) else torch.device("cpu")
        tables = torch.tensor(
            [[f32(f32(f32(p / 255.0) - f32(m)) / f32(d)) for p in range(256)] for m, d in zip(mean, std)],
            dtype=torch.float32,
            device=device,
        )
        p = torch.as_tensor(pixels).to(device=device, dtype=torch.long).reshape(-1, c, *self.input_shape[1:])
        return torch.stack([tables[ch][p[:, ch]] for ch in range(c)], dim=1)

    def class_names(self):
        """The class names an export stores, else the class indices as text."""
        names = self.metadata.get("class_names")
        return json.loads(names) if names else [str(i) for i in range(self.classes)]


def _neurons(current, constant, steps, batch, lam, v_th, s_max):
    """Eq 3–5 over the steps; `current` is `[B, ...]` when `constant`, else `[T·B, ...]`."""
    per_step = current.reshape(1 if constant else steps, batch, *current.shape[1:])
    u = torch.zeros_like(per_step[0])
    v_th_t = torch.full_like(u, v_th)
    out = []
    for t in range(steps):
        pre = (u * lam) + per_step[0 if constant else t]
        spikes = torch.floor(torch.clamp(pre / v_th_t, 0.0, s_max))
        u = pre - spikes * v_th
        out.append(spikes)
    return torch.cat(out, dim=0)


def _pool(s, k, use_max):
    """k×k windows, stride k, of `[N, C, H, W]`: the maximum (its gradient to the window's first
    maximum in row-major order, as mtsnn's), or the sum taken row by row in mtsnn's order times
    1/k² (rounded to float32). Every tensor stays on `s`'s device."""
    n, c, h, w = s.shape
    oh, ow = h // k, w // k
    windows = s[:, :, : oh * k, : ow * k].reshape(n, c, oh, k, ow, k)
    if use_max:
        flat = windows.permute(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, k * k)
        first = flat.argmax(dim=-1, keepdim=True)
        return flat.gather(-1, first).squeeze(-1)
    # mtsnn starts from 0.0 and adds each value; 0.0 + x is x for spike counts, so start at the first.
    total = windows[:, :, :, 0, :, 0]
    for dy in range(k):
        for dx in range(k):
            if dy or dx:
                total = total + windows[:, :, :, dy, :, dx]
    return total * f32(1.0 / (k * k))


def _per_channel(given, stored, what):
    if given is not None:
        return [float(given)] if isinstance(given, (int, float)) else [float(g) for g in given]
    if stored is None:
        raise ValueError(f"no normalisation {what}: pass it, or load an `mtsnn export` that stores it")
    return [float(x) for x in stored.split(",")]


def load(path, trainable=False):
    """Opens an mtsnn checkpoint or export (`.safetensors`: F32, F16 or 8-bit weights) as a
    `SpikingNet` (forward only), or with `trainable` as an `mtsnn.torch.SpikingNetwork` whose
    weights require gradients and whose `optimizer()` resumes the checkpoint's Adam state."""
    tensors, meta = safetensors_file.read(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r} (not an mtsnn file?)")
    input_shape = tuple(int(d) for d in meta["input"].split("x"))
    hyper = json.loads(meta["hyper"])
    keep = {k: v for k, v in meta.items() if k not in ("format", "net", "input", "classes", "hyper")}
    if trainable:
        from .torch import SpikingNetwork

        model = SpikingNetwork(meta["net"], input_shape, int(meta["classes"]), hyper, keep)
    else:
        model = SpikingNet(meta["net"], input_shape, int(meta["classes"]), hyper, keep)
    for i, w in enumerate(model.weights):
        name = f"layer{i}.weight"
        if name not in tensors:
            raise ValueError(f"{path}: tensor {name} is missing")
        values = tensors[name]
        if tuple(values.shape) != tuple(w.shape):
            raise ValueError(f"{path}: {name} has shape {list(values.shape)}, the network needs {list(w.shape)}")
        if values.dtype == torch.int8:
            # An 8-bit export: codes times one float32 scale per output neuron or filter.
            scales = tensors.get(f"{name}_scale")
            if scales is None or tuple(scales.shape) != (w.shape[0],):
                raise ValueError(f"{path}: {name} is I8 but {name}_scale is missing or misshapen")
            values = values.to(torch.float32) * scales.reshape(-1, *[1] * (values.dim() - 1))
        if not torch.isfinite(values).all():
            raise ValueError(f"{path}: {name} holds NaN or infinite values")
        w.data.copy_(values)
    if trainable and "layer0.adam_m" in tensors and "layer0.adam_v" in tensors:
        moments = {k: [tensors[f"layer{i}.adam_{k}"] for i in range(len(model.weights))] for k in ("m", "v")}
        model.adam_state = {"step": int(meta.get("adam_step", "0")), **moments}
    return model


def save(model, path, half=False, optimizer=None):
    """Writes `model`'s weights as an mtsnn checkpoint (F32, or F16 when `half`) that `mtsnn eval`,
    `infer`, `export` and `train --resume` accept. With `optimizer` (an `mtsnn.torch.Adam`, or any
    optimizer with Adam's `step`, `exp_avg` and `exp_avg_sq` state, over `model.weights`) its
    moments and step count are stored too, as `layer{i}.adam_m`, `layer{i}.adam_v` and `adam_step`,
    and `mtsnn train --resume` continues them; without, a resumed run starts a fresh Adam. The
    metadata's `epoch` (epochs trained, default 0) is `model.metadata["epoch"]`."""
    tensors = {}
    for i, w in enumerate(model.weights):
        if not torch.isfinite(w).all():
            raise ValueError(f"layer{i}.weight holds NaN or infinite values")
        tensors[f"layer{i}.weight"] = w.detach()
    adam_step = None
    if optimizer is not None:
        states = [optimizer.state.get(w, {}) for w in model.weights]
        if all(states):
            steps = {int(st["step"]) for st in states}
            if len(steps) != 1:
                raise ValueError(f"the optimizer's weights have taken different numbers of steps: {sorted(steps)}")
            for kind, key in (("m", "exp_avg"), ("v", "exp_avg_sq")):
                for i, st in enumerate(states):
                    if not torch.isfinite(st[key]).all():
                        raise ValueError(f"layer{i}.adam_{kind} holds NaN or infinite values")
                    tensors[f"layer{i}.adam_{kind}"] = st[key].detach()
            adam_step = steps.pop()
        elif any(states):
            raise ValueError("the optimizer has state for some of the model's weights only")
    c, h, w = model.input_shape
    meta = {"epoch": "0", **model.metadata}
    # A loaded checkpoint's `adam_step` belongs to its moments: written only with moments.
    meta["adam_step"] = str(adam_step or 0)
    meta.update(
        format=FORMAT,
        net=model.net,
        input=f"{c}x{h}x{w}",
        classes=str(model.classes),
        hyper=json.dumps(model.hyper, separators=(",", ":")),
    )
    safetensors_file.write(path, tensors, meta, torch.float16 if half else torch.float32)
