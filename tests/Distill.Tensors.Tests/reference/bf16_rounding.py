"""Reference for Bf16Matrix.Round: float32 -> bfloat16 by PyTorch (x.to(torch.bfloat16)), round to nearest even.
Writes bf16_rounding.json: float32 bit patterns and the bf16 bit patterns torch gives. Run: python3 bf16_rounding.py"""
import json, struct
import torch

def f32(bits):
    return struct.unpack('<f', struct.pack('<I', bits))[0]

# ties (low half exactly 0x8000) on even and odd high halves, just below/above a tie, subnormals, overflow to inf,
# negative values, zero signs, infinities, NaN, and a few ordinary weights
bits = [0x3F808000, 0x3F818000, 0x3F807FFF, 0x3F808001, 0x3F81FFFF, 0xBF808000, 0xBF818000, 0x00008000, 0x00018000,
        0x00000001, 0x7F7FFFFF, 0x7F7F7FFF, 0xFF7FFFFF, 0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000,
        0x3DCCCCCD, 0xBC23D70A, 0x3C8EFA35, 0x40490FDB]
torch.manual_seed(0)
bits += [struct.unpack('<I', struct.pack('<f', v))[0] for v in (torch.randn(42) * 0.05).tolist()]
x = torch.tensor([f32(b) for b in bits], dtype=torch.float32)
assert [struct.unpack('<I', struct.pack('<f', v))[0] for v in x.tolist()] == bits
y = x.to(torch.bfloat16).view(torch.int16).tolist()
out = {"torch": torch.__version__, "f32_bits": bits, "bf16_bits": [v & 0xFFFF for v in y]}
with open('bf16_rounding.json', 'w') as f:
    json.dump(out, f, indent=0)
print(len(bits), "values")
