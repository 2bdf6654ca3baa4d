"""mtsnn checkpoints as PyTorch modules: `load` opens a checkpoint or export as a `SpikingNet`
whose forward pass is the paper's (eq 3–5), or with `trainable=True` as an
`mtsnn.torch.SpikingNetwork` trained with the paper's surrogates and backward pass; `save` writes a
module's weights (and Adam's state) back as an mtsnn checkpoint.

`mtsnn.torch` holds the trainable neuron, layers, loss and optimiser. (Inside this package
`import torch` is PyTorch: imports are absolute, and `mtsnn.torch` is reached only as such.)
"""

from . import torch
from .module import DEFAULT_HYPER, SpikingNet, load, save

__all__ = ["DEFAULT_HYPER", "SpikingNet", "load", "save", "torch"]
