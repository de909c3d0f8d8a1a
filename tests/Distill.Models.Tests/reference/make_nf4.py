"""NF4 + double-quantization reference (run: /usr/bin/python3 make_nf4.py; torch 1.13, no bitsandbytes needed).

A port of bitsandbytes' own code, written independently of the C# implementation:
  * create_dynamic_map — verbatim from bitsandbytes/functional.py (signed=True, 7 exponent bits, 8 bits);
  * dQuantizeNF4 — the threshold tree of csrc/kernels.cu, compared in float32 as the kernel does, with the
    value scaled by the reciprocal of the block absmax (`vals[j] * (1.0f / absmax)`);
  * double quantization — bitsandbytes.functional.quantize_4bit(compress_statistics=True): offset = mean(absmax),
    quantize_blockwise(absmax - offset, blocksize=256) as backends/default/ops.py does it (torch.bucketize on code
    midpoints), and dequantize_4bit: absmax = dequantize_blockwise(q) + offset.
Writes nf4/dynamic_map.json (256 float32 bit patterns) and nf4/case_*.safetensors (input, packed codes, absmax,
double-quant state, dequantized output).
"""
import json
import os
from fractions import Fraction

import numpy as np
import torch

from safetensors_spec import save

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "nf4")
os.makedirs(OUT, exist_ok=True)


def create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    data = []
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    for i in range(max_exponent_bits):
        fraction_items = int(
            2 ** (i + non_sign_bits - max_exponent_bits) + 1
            if signed
            else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1,
        )
        boundaries = torch.linspace(0.1, 1, fraction_items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    if additional_items > 0:
        boundaries = torch.linspace(0.1, 1, additional_items + 1, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    data.append(0)
    data.append(1.0)
    assert len(data) == 2 ** total_bits
    gap = 256 - len(data)
    for i in range(gap):
        data.append(0)
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


F = np.float32


def c_float_literal(text):
    """A C float literal ("0.8614784181118011f") rounded once, decimal -> float32, as nvcc and the C# compiler do.
    np.float32(0.86...) rounds twice (decimal -> double -> float) and lands one ulp higher for two of the
    thresholds, which would move the ties."""
    exact = Fraction(text)
    f = F(float(text))
    candidates = [np.nextafter(f, F(-2)), f, np.nextafter(f, F(2))]
    return min(candidates, key=lambda c: (abs(Fraction(float(c)) - exact), int(np.array(c).view(np.int32)) & 1))


TREE = [c_float_literal(t) for t in [
    "0.03979014977812767", "0.3893125355243683", "0.6427869200706482", "0.8614784181118011", "0.5016634166240692",
    "0.2035212516784668", "0.2920137718319893", "0.1202552504837513", "-0.33967943489551544", "-0.13791173323988914",
    "-0.045525018125772476", "-0.23460740596055984", "-0.6106329262256622", "-0.4599952697753906", "-0.8480964004993439"]]


def dquantize_nf4(x):
    t = TREE
    if x > t[0]:
        if x > t[1]:
            if x > t[2]:
                return 0b1111 if x > t[3] else 0b1110
            return 0b1101 if x > t[4] else 0b1100
        if x > t[5]:
            return 0b1011 if x > t[6] else 0b1010
        return 0b1001 if x > t[7] else 0b1000
    if x > t[8]:
        if x > t[9]:
            return 0b0111 if x > t[10] else 0b0110
        return 0b0101 if x > t[11] else 0b0100
    if x > t[12]:
        return 0b0011 if x > t[13] else 0b0010
    return 0b0001 if x > t[14] else 0b0000


NF4 = torch.tensor([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                    0.7229568362236023, 1.0], dtype=torch.float32)


def quantize_4bit(a, blocksize=64):
    flat = a.reshape(-1).numpy().astype(np.float32)
    n = flat.size
    blocks = (n + blocksize - 1) // blocksize
    absmax = np.zeros(blocks, dtype=np.float32)
    codes = np.full(n + (n % 2), 7, dtype=np.uint8)
    for b in range(blocks):
        blk = flat[b * blocksize:(b + 1) * blocksize]
        m = F(np.abs(blk).max())
        absmax[b] = m
        # the kernel's `1.0f / local_abs_max`: an all-zero block gives inf, 0 * inf = NaN, and NaN fails every
        # comparison of the tree, so the whole block gets code 0 (-1.0), not code 7 (0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = F(1.0) / m
            for j, v in enumerate(blk):
                codes[b * blocksize + j] = dquantize_nf4(F(v * inv))
            if n % 2 and b == blocks - 1:
                codes[n] = dquantize_nf4(F(F(0.0) * inv))  # the padding element is loaded as 0.0
    packed = (codes[0::2] << 4) | codes[1::2]
    return torch.from_numpy(packed.astype(np.uint8)), torch.from_numpy(absmax)


def quantize_4bit_default_backend(A, blocksize=64):
    """A second, vectorised transcription: bitsandbytes/backends/default/ops.py `quantize_4bit` (the CPU path):
    scaled = clamp(A * (1 / absmax), -1, 1), code = argmin |scaled - NF4| (first index on ties), padded to even
    length with 0.0, packed high nibble first. It agrees with the CUDA tree except at exact float ties of a threshold."""
    n = A.numel()
    rem = n % blocksize
    full = n // blocksize
    flat = A.reshape(n).float()
    absmax = torch.zeros(full + (1 if rem else 0), dtype=torch.float32)
    blocks = flat[:n - rem].reshape(full, blocksize)
    absmax[:full] = blocks.abs().max(dim=-1)[0]
    scaled = torch.clamp(blocks * (1 / absmax[:full].view(-1, 1)), -1, 1).reshape(-1)
    if rem:
        absmax[-1] = flat[-rem:].abs().max()
        scaled = torch.cat([scaled, torch.clamp(flat[-rem:] * (1 / absmax[-1]), -1, 1)])
    if scaled.numel() % 2:
        scaled = torch.nn.functional.pad(scaled, (0, 1), value=0.0)
    q = torch.argmin(torch.abs(scaled.view(-1, 1) - NF4), dim=-1).to(torch.uint8)
    return q[::2] << 4 | q[1::2], absmax


def quantize_blockwise(A, code, blocksize=256):
    # backends/default/ops.py, with the tail block handled the same way
    A_flat = A.reshape(-1).float()
    n = A_flat.numel()
    rem = n % blocksize
    full = n - rem
    blocks = full // blocksize
    A_com = A_flat[:full].reshape(blocks, blocksize)
    absmax = A_com.abs().max(dim=-1)[0]
    scaled = torch.clamp(A_com * (1.0 / absmax.clamp(min=1e-38).view(-1, 1)), -1, 1).reshape(-1)
    if rem:
        am = A_flat[full:].abs().max().clamp(min=1e-38)
        absmax = torch.cat([absmax, am.unsqueeze(0)])
        scaled = torch.cat([scaled, torch.clamp(A_flat[full:] / am, -1, 1)])
    bounds = (code[:-1] + code[1:]) / 2
    q = torch.bucketize(scaled, bounds).to(torch.uint8)
    return q, absmax


def dequantize(packed, qabsmax, scales, offset, code, n, blocksize=64):
    absmax = code[qabsmax.long()] * scales.repeat_interleave(256)[:qabsmax.numel()] + offset
    idx = torch.stack([packed >> 4, packed & 0xF], dim=1).reshape(-1)[:n].long()
    return NF4[idx] * absmax.repeat_interleave(blocksize)[:n]


code = create_dynamic_map(signed=True)
with open(os.path.join(OUT, "dynamic_map.json"), "w") as f:
    json.dump({"bits": code.view(torch.int32).tolist()}, f)

g = torch.Generator().manual_seed(7)
cases = {
    # n = 2590: a partial last 64-block, an odd... (even) length, blocks < 256
    "small": torch.randn(37, 70, generator=g) * 0.05,
    # 313 blocks: double quantization spans two 256-blocks, the second partial
    "multi": torch.randn(50, 401, generator=g) * 0.02,
}
# exact ties: a 64-block whose absmax is 1 and which holds every threshold (a tie goes to the lower code),
# an all-zero block, and an odd element count (the last nibble is padding)
ties = torch.zeros(3 * 64 + 1)
ties[:15] = torch.tensor([float(t) for t in TREE])
ties[15] = 1.0
ties[16:32] = NF4
ties[128:] = torch.randn(65, generator=g)
cases["ties"] = ties.reshape(1, -1)

# a weight-like matrix: heavy-tailed (Student t, 3 dof) like trained weights, one all-zero 64-block, 8 double-quant blocks
t = torch.randn(96, 384, generator=g) / torch.sqrt(torch.randn(96, 384, 3, generator=g).pow(2).mean(dim=-1))
mlp = t * 0.02
mlp[5, 64:128] = 0.0
cases["mlp"] = mlp

for name, w in cases.items():
    packed, absmax = quantize_4bit(w)
    packed2, absmax2 = quantize_4bit_default_backend(w)
    assert torch.equal(absmax, absmax2), name
    differing = int((packed != packed2).sum())
    # only the ties case puts values exactly on thresholds, where argmin over float32 distances may pick either side
    assert differing == 0 or name == "ties", f"{name}: {differing} packed bytes differ between the CUDA tree and the default backend"
    print(name, "packed bytes differing between the CUDA tree port and the default-backend transcription:", differing)
    offset = absmax.mean()
    qabsmax, scales = quantize_blockwise(absmax - offset, code)
    deq = dequantize(packed, qabsmax, scales, offset, code, w.numel())
    save(os.path.join(OUT, f"case_{name}.safetensors"), {
        "input": w.contiguous(), "packed": packed, "absmax": absmax, "offset": offset.reshape(1),
        "qabsmax": qabsmax, "scales": scales, "dequantized": deq.reshape(w.shape).contiguous()})
    print(name, tuple(w.shape), "blocks", absmax.numel(), "max abs err", float((deq.reshape(w.shape) - w).abs().max()))
