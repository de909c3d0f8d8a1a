#!/usr/bin/env python3
"""Reference trajectories of torch.optim.AdamW and torch.optim.SGD for OptimizerTests.cs.

Run with Debian's torch:  /usr/bin/python3 optim_reference.py > optim_reference.json
Parameters and gradients are closed-form so the C# test rebuilds them exactly (float32 of a double):
  p0[i] = sin(0.37 i + 0.1),  g_t[i] = cos(0.7 i + 1.3 t) * (1 + 0.5 t)   for i < 7, t = 0..5
"""
import json
import math

import torch

N, STEPS = 7, 6


def run(make_opt):
    p = torch.tensor([math.sin(0.37 * i + 0.1) for i in range(N)], dtype=torch.float32, requires_grad=True)
    opt = make_opt([p])
    traj = []
    for t in range(STEPS):
        p.grad = torch.tensor([math.cos(0.7 * i + 1.3 * t) * (1 + 0.5 * t) for i in range(N)], dtype=torch.float32)
        opt.step()
        traj.append([float(x) for x in p.detach()])
    return traj


out = {
    "torch": torch.__version__,
    "adamw": run(lambda ps: torch.optim.AdamW(ps, lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, foreach=False)),
    "adamw_wd0": run(lambda ps: torch.optim.AdamW(ps, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=False)),
    "sgd_momentum": run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, foreach=False)),
    "sgd": run(lambda ps: torch.optim.SGD(ps, lr=0.1, foreach=False)),
}
# clip_grad_norm_ on the step-0 gradient with max norm 1.0
g = torch.tensor([math.cos(0.7 * i) for i in range(N)], dtype=torch.float32)
q = torch.zeros(N, requires_grad=True)
q.grad = g.clone()
norm = torch.nn.utils.clip_grad_norm_([q], 1.0)
out["clip"] = {"norm": float(norm), "grad": [float(x) for x in q.grad]}
print(json.dumps(out, indent=1))
