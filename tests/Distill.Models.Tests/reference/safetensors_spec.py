"""A minimal safetensors writer written from the format spec (huggingface/safetensors README), with
struct + json only, so the C# reader is checked against an implementation that shares no code with it.

    8 bytes   N, little-endian u64
    N bytes   UTF-8 JSON: {"__metadata__": {str: str}, NAME: {"dtype", "shape", "data_offsets": [b, e]}}
              padded with spaces to a multiple of 8 (as the Rust writer does)
    rest      the tensors' bytes, contiguous, in header order

Tensors are torch tensors (Debian's python3-torch); their raw little-endian bytes are written as is.
"""
import json
import struct

import torch

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}


def tensor_bytes(t):
    t = t.contiguous()
    # view as bytes: bf16 has no numpy dtype, so go through an int16 view of the same storage
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Reads a file back with the same spec (used to check files the C# writer produced)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n:]
    inv = {v: k for k, v in DTYPES.items()}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = inv[info["dtype"]]
        raw = bytearray(body[b:e])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=dt) if len(raw) else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"])
    return out
