"""The safetensors container, read and written with the standard library and torch alone.

Layout: an 8-byte little-endian header length, a JSON header (per tensor: dtype, shape and
byte offsets into the data; string metadata under "__metadata__"), then the tensors' bytes.
mtsnn writes F32 (checkpoints), F16 or I8 (exports) tensors, little-endian, row-major, and U8
spike counts (`mtsnn infer --record-layers`).
"""

import json
import os
import struct

import torch

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "I8": torch.int8, "U8": torch.uint8}
# Integer tensors are returned as stored; floating-point ones as float32.
_INTEGER = (torch.int8, torch.uint8)
_NAMES = {v: k for k, v in _DTYPES.items()}
# A header longer than this is not an mtsnn file (theirs are a few kB).
_MAX_HEADER = 100 * 1024 * 1024


def read(path):
    """Returns (tensors: dict name -> tensor, F32 and F16 as float32, I8 and U8 as stored;
    metadata: dict str -> str)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(_MAX_HEADER, len(data) - 8):
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n :]
    tensors = {}
    for name, info in header.items():
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}; F32, F16, I8 or U8 expected")
        start, end = info["data_offsets"]
        shape = [int(d) for d in info["shape"]]
        count = 1
        for d in shape:
            count *= d
        if not 0 <= start <= end <= len(body) or end - start != count * _itemsize(dtype):
            raise ValueError(f"{path}: tensor {name} has bad data offsets")
        raw = bytearray(body[start:end])
        t = torch.frombuffer(raw, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(shape).to(dtype if dtype in _INTEGER else torch.float32)
    return tensors, metadata


def write(path, tensors, metadata, dtype=torch.float32):
    """Writes `tensors` (dict name -> tensor, in the given order) as `dtype` with `metadata`."""
    header = {"__metadata__": dict(metadata)}
    chunks = []
    offset = 0
    for name, t in tensors.items():
        raw = _bytes(t, dtype)
        header[name] = {
            "dtype": _NAMES[dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad the header with spaces to a multiple of 8 bytes, as the format recommends.
    text += b" " * (-len(text) % 8)
    # Atomic, as mtsnn's own writes: a crash leaves the old file or the new one, never half of one.
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _itemsize(dtype):
    """Bytes per element (`dtype.itemsize` is missing before torch 2.1)."""
    return torch.empty(0, dtype=dtype).element_size()


def _bytes(t, dtype):
    """The bytes of `t` as `dtype` (little-endian on every machine torch runs on), without numpy
    and without `Tensor.untyped_storage` (torch ≥ 2.0): copied into a buffer torch writes through."""
    flat = t.detach().to("cpu", dtype).reshape(-1)
    raw = bytearray(flat.numel() * _itemsize(dtype))
    if raw:
        torch.frombuffer(raw, dtype=dtype).copy_(flat)
    return bytes(raw)
