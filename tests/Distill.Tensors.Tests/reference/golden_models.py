#!/usr/bin/env python3
"""Golden logits, loss and gradients of tiny GPT-2-style and Llama-style models for GoldenModelTests.cs.

The models are torch_baseline.py's own Model class (imported from bench/reference/torch_baseline.py, not copied), at a
tiny size: V=64, T=8, B=2, L=2, C=16, H=2, Llama MLP hidden 40, 16 positions. For each of gpt2,
llama, llama+LoRA(r=4) it writes golden_<name>.bin (float32 little-endian) and golden_<name>.json
(the token ids, the loss, and for every tensor its name, offset and shape): all parameters, the
gradient of every trainable parameter (name "grad:<param>"), and the logits (B*T, V).
LoRA's B starts at zero in torch_baseline; here it is drawn from N(0, 0.1) so A's gradient is non-zero.

Run with Debian's torch:  /usr/bin/python3 golden_models.py   (from any directory)
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = here
while not os.path.exists(os.path.join(root, "Distill.slnx")):
    root = os.path.dirname(root)
sys.path.insert(0, os.path.join(root, "bench", "reference"))
sys.argv = ["torch_baseline.py", "--threads", "1"]
import torch_baseline as tb  # noqa: E402  (parses the patched argv, sets threads)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

tb.MAX_POS = 16
cfg = dict(V=64, T=8, B=2, L=2, C=16, H=2, llama_hidden=40)

for name, arch, lora in [("gpt2", "gpt2", 0), ("llama", "llama", 0), ("llama_lora", "llama", 4)]:
    torch.manual_seed(0)
    m = tb.Model(arch, cfg, lora)
    if lora:
        with torch.no_grad():
            for pn, p in m.named_parameters():
                if pn.endswith(".lora.B"):
                    p.normal_(0.0, 0.1)
    g = torch.Generator().manual_seed(1)
    tok = torch.randint(0, cfg["V"], (cfg["B"], cfg["T"] + 1), generator=g)
    logits = m(tok[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, cfg["V"]), tok[:, 1:].reshape(-1))
    loss.backward()
    tensors = [(pn, p.detach()) for pn, p in m.named_parameters()]
    tensors += [("grad:" + pn, p.grad) for pn, p in m.named_parameters() if p.requires_grad]
    tensors.append(("logits", logits.detach().reshape(-1, cfg["V"])))
    index, blobs, off = [], [], 0
    for tn, t in tensors:
        t = t.contiguous().to(torch.float32)
        index.append({"name": tn, "offset": off, "shape": list(t.shape)})
        blobs.append(t.numpy().tobytes())
        off += t.numel()
    with open(os.path.join(here, f"golden_{name}.bin"), "wb") as f:
        f.write(b"".join(blobs))
    meta = {"torch": torch.__version__, "arch": arch, "lora": lora, "config": cfg, "max_pos": tb.MAX_POS,
            "inputs": tok[:, :-1].reshape(-1).tolist(), "targets": tok[:, 1:].reshape(-1).tolist(),
            "loss": float(loss), "tensors": index}
    with open(os.path.join(here, f"golden_{name}.json"), "w") as f:
        json.dump(meta, f)
    print(f"{name}: loss {float(loss):.6f}, {off} floats")
