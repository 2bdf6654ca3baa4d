"""The paper's multi-threshold neuron as a trainable PyTorch module, computed as mtsnn's engine
computes it (pure Python on torch; any device, any floating dtype).

Forward (eq 3–5 of Xu et al., "Direct Training via Backpropagation for Ultra-low Latency Spiking
Neural Networks with Multi-threshold"), per time step t = 1..T, λ = 1 − 1/τ_m, u[0] = 0:

    v[t] = λ·u[t−1] + I[t]                          pre-reset potential (I: the input current)
    s[t] = floor(clamp(v[t] / V_th, 0, S_max))       0..S_max spikes in one step
    u[t] = v[t] − V_th·s[t]                          reset by subtraction

Surrogates of ∂s/∂v (eq 14–16), with α_H, α_W:

    f1(v) = Σ_{i=1..S_max} i·α_H·exp(−(v − i·V_th)² / (α_W / i))
    f2(v) = Σ_{i=1..S_max} α_H·exp(−(v − i·V_th)² / α_W)              (the paper's default)
    f3(v) = 0 for v < 0 or v ≥ (S_max + 1)·V_th; α_H·v/V_th on [0, V_th); α_H up to S_max·V_th;
            α_H·(S_max + 1 − v/V_th) on [S_max·V_th, (S_max + 1)·V_th)

f1 and f2 sum only the thresholds within r = sqrt(30·α_W) of v (the terms left out are below
e⁻³⁰ ≈ 1e-13 of the nearest one), in increasing order of i, as the engine does; in float32 on the
CPU the exponential is the engine's own polynomial (`surrogate.rs`, `exp_neg`), so f′ is the
engine's bit for bit; elsewhere it is `torch.exp` (within 3e-7 relative of it).

Backward. With f′[t] = f(v[t]) and δ[t] = ∂L/∂s[t] · f′[t]:

- `grad="paper"` (eq 9–13): the weight gradient is ∂L/∂W = Σ_t G[t]ᵀ s_in[t] with
      G[T+1] = 0,   G[t] = (δ[t] + λ·G[t+1]) / (1 + V_th·f′[t]),
  the per-synapse trace of eq 11–12, e[t] = (λ·e[t−1] + s_in[t]) / (1 + V_th·f′[t]), unrolled
  backwards in time; the layer below receives Wᵀ δ[t] (eq 9: the error is purely spatial).
  For the output layer ∂L/∂s = s − y (eq 10), divided by the batch size (the loss is a mean).
- `grad="bptt"` (not in the paper): ordinary backpropagation through the unrolled forward with
  ∂s/∂v := f′, i.e. G[t] = ∂L/∂v[t] = δ[t] + λ·(1 − V_th·f′[t])·G[t+1]; the weights get
  Σ_t G[t]ᵀ s_in[t] and the layer below Wᵀ G[t].
- `detach_reset=True` cuts the reset path from the gradient: the paper's 1 + V_th·f′ and BPTT's
  1 − V_th·f′ become 1 (as SpikingJelly's `detach_reset`).

Each of these is computed in the engine's order of float32 operations (`cpu/elementwise.rs`,
`cpu/neuron.rs`, `cpu/adam.rs`: `ScanStep`, `output_error`, `AdamRun`), so one training step here equals one step
of `mtsnn train` up to the summation order inside the matrix products and convolutions (see
`python/tests/test_training.py`).

Layers whose input is the same at every step (the first one, fed the direct-encoded image, or a
pooling of it) compute their current once; the weight gradient is then (Σ_t G[t])ᵀ x, as in the
engine.

What is here:
- `MultiThresholdLIF`: the neuron, multi-step (`[T, batch, ...]` currents in, spike counts out),
  droppable after any synapse. Its input receives G (the weight gradient of the synapse before
  it is then eq 13's); for eq 9's Wᵀ δ to reach the layer below in paper mode, use the layers.
- `SpikingDense`, `SpikingConv2d`: a synapse and the neuron in one autograd function, with the
  paper's backward exactly (the weights get Gᵀ s_in, the input gets Wᵀ δ).
- `SpikingNetwork`: a network of mtsnn's network strings (`784-400-400-10`, `15C5-P2-40C5-P2-300`,
  ...), with mtsnn's weight layout, so `mtsnn.save` writes it for the CLI and `mtsnn.load(path,
  trainable=True)` opens mtsnn's checkpoints as one.
- `spike_count_loss`: eq 6, L = Σ_t ½ Σ_i (y_i − s_i[t])², y = the target count for the true
  class at every step and 0 elsewhere, averaged over the batch.
- `Adam`: the engine's Adam (m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
  w ← w − η·(m / (1−β₁ᵗ)) / (sqrt(v / (1−β₂ᵗ)) + ε), bias corrections computed in float64 and
  rounded to float32), with its learning-rate schedules; its moments are saved with the weights.

Defaults are Table I of the paper (T = 2), from one definition: `mtsnn.module.DEFAULT_HYPER`,
which mirrors the CLI's (`crates/mtsnn-core/src/hyper.rs`; a test checks they agree).
"""

import math

import torch
import torch.nn.functional as F

from . import network
from .module import DEFAULT_HYPER, SpikingNet, _pool, f32

SURROGATES = ("f1", "f2", "f3")
GRADS = ("paper", "bptt")
# Gaussian terms further than sqrt(α_W·GAUSS_CUTOFF) from v are skipped (`surrogate.rs`).
GAUSS_CUTOFF = 30.0

__all__ = [
    "Adam",
    "MultiThresholdLIF",
    "SpikingConv2d",
    "SpikingDense",
    "SpikingNetwork",
    "lr_at",
    "spike_count_loss",
]


def _full(like, value):
    """`value` as a tensor shaped, typed and placed as `like`: dividing by it is a true division
    on every device (torch may multiply by the reciprocal of a scalar divisor)."""
    return torch.full_like(like, value)


class MultiThresholdLIF(torch.nn.Module):
    """The multi-threshold leaky integrate-and-fire neuron of eq 3–5, trainable.

    Arguments default to Table I (`mtsnn.DEFAULT_HYPER`): V_th 10, τ_m 10, S_max 15, surrogate
    f2 with α_H 1 and α_W 20, the paper's gradient, reset path kept.

    `forward(current)` takes `[T, batch, ...]` currents and returns the spike counts, same shape;
    `forward(current, steps=T)` takes one `[batch, ...]` current that drives every step (direct
    encoding) and returns `[T, batch, ...]`. Gradients reach the current as G (see the module's
    documentation); the parameters are constants, not trained.
    """

    def __init__(self, v_th=None, tau_m=None, s_max=None, surrogate=None, alpha_h=None, alpha_w=None,
                 grad=None, detach_reset=None):
        super().__init__()
        d = DEFAULT_HYPER
        pick = lambda x, k: d[k] if x is None else x  # noqa: E731
        self.v_th = float(pick(v_th, "v_th"))
        self.tau_m = float(pick(tau_m, "tau_m"))
        self.s_max = int(pick(s_max, "s_max"))
        self.surrogate = str(pick(surrogate, "surrogate")).lower()
        self.alpha_h = float(pick(alpha_h, "alpha_h"))
        self.alpha_w = float(pick(alpha_w, "alpha_w"))
        self.grad = str(pick(grad, "grad")).lower()
        self.detach_reset = bool(pick(detach_reset, "detach_reset"))
        if self.surrogate not in SURROGATES:
            raise ValueError(f"surrogate {self.surrogate!r} is not one of {', '.join(SURROGATES)}")
        if self.grad not in GRADS:
            raise ValueError(f"grad {self.grad!r} is not one of {', '.join(GRADS)}")
        if not (self.tau_m >= 1 and math.isfinite(self.tau_m)):
            raise ValueError("tau_m must be ≥ 1 so that the leak λ = 1 − 1/τ_m lies in [0, 1)")
        if not (self.v_th > 0 and math.isfinite(self.v_th)):
            raise ValueError("v_th must be positive")
        if not 1 <= self.s_max <= 1024:
            raise ValueError("s_max must be in 1..=1024")
        if not (self.alpha_h > 0 and self.alpha_w > 0):
            raise ValueError("alpha_h and alpha_w must be positive")
        # The constants in float32 as the engine rounds them, and in float64.
        v_th32, alpha_w32 = f32(self.v_th), f32(self.alpha_w)
        self._single = _Constants(v_th32, f32(1.0 - f32(1.0 / f32(self.tau_m))), f32(self.alpha_h),
                                  f32(1.0 / alpha_w32), f32(math.sqrt(f32(alpha_w32 * GAUSS_CUTOFF))))
        self._double = _Constants(self.v_th, 1.0 - 1.0 / self.tau_m, self.alpha_h, 1.0 / self.alpha_w,
                                  math.sqrt(self.alpha_w * GAUSS_CUTOFF))
        # Gaussian terms summed per neuron: the most thresholds a window of width 2r holds.
        span = math.floor(2.0 * self._single.radius / v_th32 + 0.01)
        self._terms = max(1, min(self.s_max, span + 1))

    def _constants(self, dtype):
        """float64's for float64 tensors; float32's (the engine's) for the other dtypes."""
        return self._double if dtype == torch.float64 else self._single

    @classmethod
    def from_hyper(cls, hyper):
        """The neuron of an mtsnn hyper-parameter dict (a checkpoint's `hyper`)."""
        h = {**DEFAULT_HYPER, **hyper}
        return cls(h["v_th"], h["tau_m"], h["s_max"], h["surrogate"], h["alpha_h"], h["alpha_w"],
                   h["grad"], h["detach_reset"])

    @property
    def leak(self):
        """λ = 1 − 1/τ_m, as the engine rounds it (float32)."""
        return self._single.lam

    def extra_repr(self):
        return (f"v_th={self.v_th}, tau_m={self.tau_m}, s_max={self.s_max}, surrogate={self.surrogate!r}, "
                f"alpha_h={self.alpha_h}, alpha_w={self.alpha_w}, grad={self.grad!r}, "
                f"detach_reset={self.detach_reset}")

    def forward(self, current, steps=None):
        if steps is None:
            return _LIF.apply(current, self, current.shape[0], False)
        return _LIF.apply(current, self, int(steps), True)

    # The arithmetic, shared by the neuron and the layers.

    def integrate(self, current, steps, constant):
        """Eq 3–5 without gradients: pre-reset potentials v and spike counts s, `[T, ...]`, of a
        current `[T, ...]`, or `[...]` driving every step when `constant`."""
        with torch.no_grad():
            first = current if constant else current[0]
            c = self._constants(first.dtype)
            u = torch.zeros_like(first)
            v_th = _full(u, c.v_th)
            vs, ss = [], []
            for t in range(steps):
                pre = (u * c.lam) + (current if constant else current[t])
                spikes = torch.floor(torch.clamp(pre / v_th, 0.0, float(self.s_max)))
                u = pre - spikes * c.v_th
                vs.append(pre)
                ss.append(spikes)
            return torch.stack(vs), torch.stack(ss)

    def surrogate_grad(self, v):
        """f(v) ≈ ∂s/∂v (eq 14–16), elementwise."""
        with torch.no_grad():
            if self.surrogate == "f3":
                return self._trapezoid(v)
            return self._gaussians(v, self.surrogate == "f1")

    def _trapezoid(self, v):
        c = self._constants(v.dtype)
        x = v / _full(v, c.v_th)
        s_max = float(self.s_max)
        top = (s_max + 1.0) * c.v_th
        if c is self._single:
            top = f32(top)
        falling = (c.alpha_h * (top - v)) / _full(v, c.v_th)
        ramp = torch.where(x < 1.0, c.alpha_h * x,
                           torch.where(x < s_max, _full(v, c.alpha_h), falling))
        return torch.where((v < 0.0) | (x >= s_max + 1.0), torch.zeros_like(v), ramp)

    def _gaussians(self, v, f1):
        c = self._constants(v.dtype)
        v_th = _full(v, c.v_th)
        s_max = float(self.s_max)
        a = torch.clamp((v - c.radius) / v_th, 0.0, s_max + 1.0)
        lo = torch.clamp(torch.ceil(a), min=1.0)
        hi = torch.floor(torch.clamp((v + c.radius) / v_th, 0.0, s_max))
        exact = v.dtype == torch.float32 and v.device.type == "cpu"
        total = torch.zeros_like(v)
        for k in range(self._terms):
            i = lo + float(k)
            d = v - i * c.v_th
            if f1:
                term = (i * c.alpha_h) * _exp(((-d * d) * i) * c.inv_w, exact)
            else:
                term = c.alpha_h * _exp((-d * d) * c.inv_w, exact)
            total = total + torch.where(i <= hi, term, torch.zeros_like(term))
        return total

    def scan(self, grad_s, v):
        """δ[t] = ∂L/∂s[t]·f′[t] and G[t] (paper or BPTT, see the module's documentation) of a
        layer's `[T, ...]` upstream gradient and potentials, backwards in time."""
        with torch.no_grad():
            c = self._constants(v.dtype)
            f = self.surrogate_grad(v)
            delta = grad_s * f
            g = torch.empty_like(delta)
            nxt = torch.zeros_like(delta[0])
            keep = not self.detach_reset
            for t in range(v.shape[0] - 1, -1, -1):
                if keep and self.grad == "paper":
                    nxt = (delta[t] + c.lam * nxt) / (f[t] * c.v_th + 1.0)
                elif keep:
                    nxt = delta[t] + (c.lam * (1.0 - f[t] * c.v_th)) * nxt
                else:
                    nxt = delta[t] + c.lam * nxt
                g[t] = nxt
            return delta, g


class _Constants:
    """V_th, λ, α_H, 1/α_W and the Gaussian window's radius sqrt(30·α_W) in one precision."""

    def __init__(self, v_th, lam, alpha_h, inv_w, radius):
        self.v_th, self.lam, self.alpha_h, self.inv_w, self.radius = v_th, lam, alpha_h, inv_w, radius


def _exp(x, exact):
    """e^x for x ≤ 0: the engine's `exp_neg` bit for bit when `exact` (float32), else torch.exp."""
    if not exact:
        return torch.exp(x)
    ln2_hi = f32(0.693359375)
    ln2_lo = f32(-2.1219444e-4)
    rnd = 12582912.0  # 1.5·2²³: adding it rounds to an integer
    under = x < -87.0
    x = torch.clamp(x, -87.0, 0.0)
    t = x * f32(1.4426950408889634) + rnd
    nf = t - rnd
    n = t.view(torch.int32) - 0x4B400000  # the bits of 1.5·2²³
    r = (x - nf * ln2_hi) - nf * ln2_lo
    p = r * f32(1.0 / 720.0) + f32(1.0 / 120.0)
    p = r * p + f32(1.0 / 24.0)
    p = r * p + f32(1.0 / 6.0)
    p = r * p + 0.5
    p = r * p + 1.0
    p = r * p + 1.0
    y = p * ((n + 127) << 23).view(torch.float32)
    return torch.where(under, torch.zeros_like(y), y)


def _sum_steps(x):
    """Σ_t x[t] in step order, as the engine sums (`sum_steps`)."""
    total = x[0]
    for t in range(1, x.shape[0]):
        total = total + x[t]
    return total


class _LIF(torch.autograd.Function):
    """The neuron alone: spikes of a current; the current's gradient is G."""

    @staticmethod
    def forward(ctx, current, neuron, steps, constant):
        v, s = neuron.integrate(current, steps, constant)
        ctx.save_for_backward(v)
        ctx.neuron, ctx.constant = neuron, constant
        return s

    @staticmethod
    def backward(ctx, grad_s):
        (v,) = ctx.saved_tensors
        _, g = ctx.neuron.scan(grad_s, v)
        return (_sum_steps(g) if ctx.constant else g), None, None, None


def _current(x, w, layer):
    """Eq 3's I = W s_in of `x` `[N, ...]` (dense) or W ∗ s_in (convolution, stride 1)."""
    if layer.kind == "dense":
        return x.reshape(x.shape[0], -1) @ w.t()
    return F.conv2d(x, w, padding=layer.padding)


class _Layer(torch.autograd.Function):
    """A synapse (dense or convolution) and its neurons: forward eq 3–5; backward the weights'
    Σ_t G[t]ᵀ s_in[t] and the input's Wᵀ δ (paper) or Wᵀ G (BPTT)."""

    @staticmethod
    def forward(ctx, x, w, layer, neuron, steps, constant):
        wc = w.to(x.dtype)
        current = _current(x, wc, layer)
        rows = current.shape[0] if constant else current.shape[0] // steps
        shaped = current if constant else current.reshape(steps, rows, *current.shape[1:])
        v, s = neuron.integrate(shaped, steps, constant)
        ctx.save_for_backward(x, wc, v)
        ctx.layer, ctx.neuron, ctx.constant, ctx.w_dtype = layer, neuron, constant, w.dtype
        return s.reshape(steps * rows, *current.shape[1:])

    @staticmethod
    def backward(ctx, grad_s):
        x, w, v = ctx.saved_tensors
        layer, neuron, constant = ctx.layer, ctx.neuron, ctx.constant
        delta, g = neuron.scan(grad_s.reshape(v.shape), v)
        down = g if neuron.grad == "bptt" else delta
        if constant:
            g, down = _sum_steps(g), _sum_steps(down)
        else:
            g, down = g.reshape(-1, *g.shape[2:]), down.reshape(-1, *down.shape[2:])
        grad_x = grad_w = None
        with torch.no_grad():
            if layer.kind == "dense":
                flat = x.reshape(x.shape[0], -1)
                if ctx.needs_input_grad[1]:
                    grad_w = g.reshape(g.shape[0], -1).t() @ flat
                if ctx.needs_input_grad[0]:
                    grad_x = (down.reshape(down.shape[0], -1) @ w).reshape(x.shape)
            else:
                if ctx.needs_input_grad[1]:
                    grad_w = torch.nn.grad.conv2d_weight(x, w.shape, g, padding=layer.padding)
                if ctx.needs_input_grad[0]:
                    grad_x = torch.nn.grad.conv2d_input(x.shape, w, down, padding=layer.padding)
        if grad_w is not None:
            grad_w = grad_w.to(ctx.w_dtype)
        return grad_x, grad_w, None, None, None, None


def _layer(x, w, layer, neuron, steps, constant):
    """Spikes `[T·B, ...]` of a weighted layer (`network.Layer`) fed `x`: `[B, ...]` when
    `constant` (the same input at every step), else `[T·B, ...]` (step-major)."""
    return _Layer.apply(x, w, layer, neuron, steps, constant)


class SpikingDense(torch.nn.Module):
    """A dense layer of multi-threshold neurons: `[T, batch, in]` (or `[batch, in]` with
    `steps=T`, the same input at every step) → spike counts `[T, batch, out]`. The weight is
    `[out, in]`, initialised by eq 17 (W ~ Normal(V_th / in, 0.5))."""

    def __init__(self, in_features, out_features, neuron=None, device=None, dtype=None):
        super().__init__()
        self.neuron = neuron if neuron is not None else MultiThresholdLIF()
        self.layer = network.Layer("dense", (in_features, 1, 1), (out_features, 1, 1))
        self.weight = torch.nn.Parameter(torch.empty(out_features, in_features, device=device, dtype=dtype))
        with torch.no_grad():
            self.weight.normal_(self.neuron.v_th / in_features, 0.5)

    def forward(self, x, steps=None):
        return _apply_layer(self, x, steps)


class SpikingConv2d(torch.nn.Module):
    """A k×k convolution (stride 1, zero padding `padding`, default k // 2) of multi-threshold
    neurons: `[T, batch, C, H, W]` (or `[batch, C, H, W]` with `steps=T`) → spike counts
    `[T, batch, out_channels, H', W']`. Initialised by eq 17 with N the fan-in C·k·k."""

    def __init__(self, in_channels, out_channels, kernel_size, padding=None, neuron=None, device=None, dtype=None):
        super().__init__()
        self.neuron = neuron if neuron is not None else MultiThresholdLIF()
        p = kernel_size // 2 if padding is None else padding
        # The map size does not matter to the autograd function; only kind, kernel and padding do.
        self.layer = network.Layer("conv", (in_channels, 0, 0), (out_channels, 0, 0), kernel=kernel_size, padding=p)
        self.weight = torch.nn.Parameter(
            torch.empty(out_channels, in_channels, kernel_size, kernel_size, device=device, dtype=dtype))
        with torch.no_grad():
            self.weight.normal_(self.neuron.v_th / (in_channels * kernel_size * kernel_size), 0.5)

    def forward(self, x, steps=None):
        return _apply_layer(self, x, steps)


def _apply_layer(module, x, steps):
    constant = steps is not None
    if constant:
        s = _layer(x, module.weight, module.layer, module.neuron, int(steps), True)
        return s.reshape(int(steps), x.shape[0], *s.shape[1:])
    t, b = x.shape[0], x.shape[1]
    s = _layer(x.reshape(t * b, *x.shape[2:]), module.weight, module.layer, module.neuron, t, False)
    return s.reshape(t, b, *s.shape[1:])


class _OutputError(torch.autograd.Function):
    """Eq 6 averaged over the batch; its gradient is (s − y) / batch, as the engine's
    `output_error` computes it."""

    @staticmethod
    def forward(ctx, out, labels, target):
        steps, batch, classes = out.shape
        y = torch.zeros_like(out)
        y[:, torch.arange(batch, device=out.device), labels.to(out.device).long()] = float(target)
        e = out - y
        ctx.save_for_backward(e)
        loss = (0.5 * e.double() * e.double()).sum() / batch
        return loss.to(out.dtype)

    @staticmethod
    def backward(ctx, grad):
        (e,) = ctx.saved_tensors
        return (e / _full(e, float(e.shape[1]))) * grad.to(e.dtype), None, None


def spike_count_loss(out, labels, target_count=None):
    """Eq 6: L = Σ_t ½ Σ_i (y_i − s_i[t])², mean over the batch, of output spike counts `out`
    `[T, batch, classes]`; y is `target_count` (default Table I's / mtsnn's 5) for the labelled
    class at every step and 0 for the others."""
    target = DEFAULT_HYPER["target_count"] if target_count is None else target_count
    return _OutputError.apply(out, labels, float(target))


class SpikingNetwork(SpikingNet):
    """A trainable network of mtsnn's network string `net` (`784-400-400-10`,
    `15C5-P2-40C5-P2-300`, ...): `forward(x)` of normalised inputs `[batch, C, H, W]` (or
    `[batch, C·H·W]`) gives output spike counts `[T, batch, classes]` with gradients, by the
    hyper-parameters in `hyper` (mtsnn's keys; missing ones are Table I's). `weights[i]` is
    weighted layer i's tensor in mtsnn's layout, so `mtsnn.save` writes it for `mtsnn eval`,
    `infer` and `train --resume`. Its forward pass is `SpikingNet`'s, operation for operation."""

    def __init__(self, net, input_shape=(1, 28, 28), classes=10, hyper=None, metadata=None):
        super().__init__(net, input_shape, classes, {**DEFAULT_HYPER, **(hyper or {})}, metadata)
        for w in self.weights:
            w.requires_grad_(True)
        # Adam's state from a checkpoint (`mtsnn.load`), for `optimizer()`.
        self.adam_state = None

    @property
    def neuron(self):
        """The neuron of the current `hyper` (a new module each time; it holds no state)."""
        return MultiThresholdLIF.from_hyper(self.hyper)

    def forward(self, x, record_layers=False):
        neuron = self.neuron
        steps = int(self.hyper["steps"])
        batch = x.shape[0]
        dtype = x.dtype if x.is_floating_point() else self.weights[0].dtype
        s = x.reshape(batch, *self.input_shape).to(dtype)
        constant = True
        recorded = []
        weights = iter(self.weights)
        for layer in self.layers:
            if layer.kind == "pool":
                s = _pool(s, layer.kernel, layer.max)
            else:
                s = _layer(s, next(weights), layer, neuron, steps, constant)
                constant = False
            if record_layers:
                r = s.expand(steps, *s.shape).reshape(-1, *s.shape[1:]) if constant else s
                recorded.append(r.reshape(steps, batch, *r.shape[1:]))
        out = s.reshape(steps, batch, self.classes)
        return (out, recorded) if record_layers else out

    def loss(self, out, labels):
        """Eq 6 with this network's target count (see `spike_count_loss`)."""
        return spike_count_loss(out, labels, self.hyper["target_count"])

    @staticmethod
    def predict(out):
        """Predicted classes of output spikes `[T, batch, classes]`: the argmax of Σ_t s, the
        lowest class on ties (as `mtsnn eval`)."""
        totals = _sum_steps(out)
        best = totals.max(dim=1, keepdim=True).values
        index = torch.arange(totals.shape[1], device=totals.device).expand_as(totals)
        return torch.where(totals == best, index, totals.shape[1]).min(dim=1).values

    def optimizer(self):
        """The engine's Adam over the weights with this network's η, β₁, β₂, ε and learning-rate
        schedule, resuming the Adam state of the checkpoint the network was loaded from."""
        opt = Adam(self.weights, self.hyper)
        if self.adam_state is not None:
            st = self.adam_state
            for w, m, v in zip(self.weights, st["m"], st["v"]):
                opt.state[w] = {"step": st["step"], "exp_avg": m.to(w.device, w.dtype).clone(),
                                "exp_avg_sq": v.to(w.device, w.dtype).clone()}
        return opt


def lr_at(hyper, step):
    """η of Adam update `step` (1-based) under `hyper`'s learning-rate schedule (mtsnn's
    `lr_schedule.rs`): constant η; `cosine` η·½(1 + cos(π(e − 1)/E)); `step` η·0.1^k after k of
    the milestones round(f·E); e the update's epoch (1-based), E the run's epochs."""
    lr = f32(hyper.get("lr", DEFAULT_HYPER["lr"]))
    sched = hyper.get("lr_schedule") or {}
    kind = sched.get("kind", "constant")
    if kind == "constant":
        return lr
    epochs = max(int(sched.get("epochs", 0)), 1)
    per = max(int(sched.get("updates_per_epoch", 0)), 1)
    e = min(max((max(step, 1) - 1) // per + 1, 1), epochs)
    if kind == "cosine":
        factor = 0.5 * (1.0 + math.cos(math.pi * (e - 1) / epochs))
    elif kind == "step":
        # Rust's f64::round rounds halves away from zero (Python's round() to even).
        milestones = [math.floor(f32(f) * epochs + 0.5) for f in sched.get("decay_at", [])]
        factor = _powi(0.1, sum(1 for m in milestones if e > m))
    else:
        raise ValueError(f"learning-rate schedule {kind!r} is not one of constant, cosine, step")
    return f32(lr * factor)


def _powi(a, n):
    """a**n by repeated squaring, as Rust's `f64::powi` (compiler-rt's `__powidf2`) computes it."""
    r = 1.0
    while True:
        if n & 1:
            r *= a
        n //= 2
        if n == 0:
            return r
        a *= a


class Adam(torch.optim.Optimizer):
    """mtsnn's Adam (`cpu/elementwise.rs`, `AdamRun`), in its float32 order of operations:
    m ← β₁m + (1−β₁)g; v ← β₂v + ((1−β₂)g)g; w ← w − (η·(m / c₁)) / (sqrt(v / c₂) + ε) with
    c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ computed in float64 and rounded. `hyper` gives η (and its
    schedule), β₁, β₂ and ε (default Table I's). The state per weight is torch's (`step`,
    `exp_avg`, `exp_avg_sq`), which `mtsnn.save(..., optimizer=)` stores as mtsnn's
    `layer{i}.adam_m`, `layer{i}.adam_v` and `adam_step`."""

    def __init__(self, params, hyper=None):
        h = {**DEFAULT_HYPER, **(hyper or {})}
        defaults = {"lr": f32(h["lr"]), "betas": (f32(h["beta1"]), f32(h["beta2"])), "eps": f32(h["eps"]),
                    "lr_schedule": h.get("lr_schedule")}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            eps = group["eps"]
            for w in group["params"]:
                if w.grad is None:
                    continue
                st = self.state[w]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(w)
                    st["exp_avg_sq"] = torch.zeros_like(w)
                st["step"] = int(st["step"]) + 1
                t = st["step"]
                lr = lr_at({"lr": group["lr"], "lr_schedule": group["lr_schedule"]}, t)
                c1 = f32(1.0 - _powi(float(b1), t))
                c2 = f32(1.0 - _powi(float(b2), t))
                g = w.grad
                m, v = st["exp_avg"], st["exp_avg_sq"]
                m.copy_(m * b1 + g * f32(1.0 - b1))
                v.copy_(v * b2 + (g * f32(1.0 - b2)) * g)
                step = ((m / _full(m, c1)) * lr) / (torch.sqrt(v / _full(v, c2)) + eps)
                w.sub_(step)
        return loss
