"""Network strings (`784-800-10`, `15C5-P2-40C5-P2-300`, ...) and the layers they imply, exactly as
mtsnn's engine reads them (`crates/mtsnn-core/src/spec.rs`).

Tokens joined by `-`: a bare number N is a dense spiking layer of N neurons (as the first token, the
input size); `aCk` a k×k convolution with a filters, stride 1, then spiking neurons (`aCkpP` sets
the zero padding P, default k // 2, except 0 for the paper's MNIST CNN `15C5-P2-40C5-P2-300`); `Pk`
k×k average pooling of the spike maps, stride k; `MPk` the same with the maximum. An output layer
of `classes` neurons is implied where the string does not end with it.
"""

from dataclasses import dataclass

# The paper's MNIST CNN is built without padding (28 → 24 → 12 → 8 → 4).
_UNPADDED_PAPER_NETS = ("15C5-P2-40C5-P2-300",)


@dataclass(frozen=True)
class Layer:
    """One layer: kind is "dense", "conv" or "pool"; shapes are (channels, height, width)."""

    kind: str
    input: tuple
    output: tuple
    kernel: int = 0
    padding: int = 0
    max: bool = False

    @property
    def has_weights(self):
        return self.kind != "pool"

    @property
    def weight_shape(self):
        """[out, in] (dense) or [out_ch, in_ch, k, k] (conv); () for pooling."""
        if self.kind == "dense":
            return (_len(self.output), _len(self.input))
        if self.kind == "conv":
            return (self.output[0], self.input[0], self.kernel, self.kernel)
        return ()


def _len(shape):
    c, h, w = shape
    return c * h * w


def parse(text, input_shape, classes):
    """The layers of `text` for inputs of shape (channels, height, width) and `classes` outputs."""
    text = text.strip()
    if not text:
        raise ValueError("empty network string; try e.g. 784-800-10")
    pad_zero = text in _UNPADDED_PAPER_NETS
    shape = tuple(input_shape)
    layers = []
    for i, tok in enumerate(t.strip() for t in text.split("-")):
        low = tok.lower()
        if low.startswith("mp") or low.startswith("p"):
            k = _number(low[2:] if low.startswith("mp") else low[1:], tok)
            c, h, w = shape
            if h < k or w < k or (h == 1 and w == 1):
                raise ValueError(f"{tok!r}: cannot pool a {shape} map with a {k}x{k} window")
            out = (c, h // k, w // k)
            layers.append(Layer("pool", shape, out, kernel=k, max=low.startswith("mp")))
        elif "c" in low:
            filters, rest = low.split("c", 1)
            kernel, _, pad = rest.partition("p")
            k = _number(kernel, tok)
            if shape[1] == 1 and shape[2] == 1 and layers:
                raise ValueError(f"convolution {tok!r} after a dense layer")
            p = _padding(pad, tok) if pad else (0 if pad_zero else k // 2)
            c, h, w = shape
            if h + 2 * p < k or w + 2 * p < k:
                raise ValueError(f"{tok!r}: a {k}x{k} kernel does not fit the {shape} input")
            out = (_number(filters, tok), h + 2 * p - k + 1, w + 2 * p - k + 1)
            layers.append(Layer("conv", shape, out, kernel=k, padding=p))
        else:
            n = _number(low, tok)
            if i == 0:
                if n != _len(shape):
                    raise ValueError(f"the first number is the input size, {n}, but inputs have {_len(shape)} values")
                shape = (n, 1, 1)
                continue
            out = (n, 1, 1)
            layers.append(Layer("dense", shape, out))
        shape = layers[-1].output
    last = layers[-1] if layers else None
    if not (last and last.kind == "dense" and last.output[0] == classes):
        layers.append(Layer("dense", shape, (classes, 1, 1)))
    return layers


def _number(s, tok):
    if not s.isdigit() or int(s) == 0:
        raise ValueError(f"token {tok!r}: {s!r} is not a positive number")
    return int(s)


def _padding(s, tok):
    if not s.isdigit():
        raise ValueError(f"token {tok!r}: padding {s!r} is not a number")
    return int(s)
