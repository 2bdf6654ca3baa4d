"""mtsnn checkpoints as PyTorch modules: `load` opens a checkpoint or export as a `SpikingNet`
whose forward pass is the paper's (eq 3–5), `save` writes a module's weights back as an mtsnn
checkpoint."""

from .module import DEFAULT_HYPER, SpikingNet, load, save

__all__ = ["DEFAULT_HYPER", "SpikingNet", "load", "save"]
