#!/usr/bin/python3
"""Golden values for the preference objective from logits to loss: DPO-KD's losses and PLaD's calibration losses.

Run with Debian's interpreter (python3-torch 1.13):  /usr/bin/python3 preference_reference.py
Writes preference_golden.json beside this file; the C# tests (PreferenceObjectiveGoldenTests) read it.

Written from the papers' equations, in float64 with torch autograd, independently of the C# code:
  - sequence log-likelihood: log P(y|x) = sum_t log softmax(z_t / tau)[y_t] over completion tokens
    (PLaD Sec. 3.1 Eq. 1: the token distribution is a softmax with temperature tau), optionally
    length-normalised, (1/|y|) sum_t ... (PLaD Sec. 4.3 / its length-normalisation ablation);
    labels are already aligned with the logits (TRL get_batch_logps after the shift), -100 = ignored;
  - DPO (Rafailov et al. 2023 Eq. 7; DPO-KD Sec. 2 trains with it): -(1-eps) log s(b D) - eps log s(-b D),
    D = (pc - rc) - (pr - rr) on summed log-probs, and TRL's "robust", "hinge", "ipo" (IPO on means);
  - PLaD ranking calibration (Sec. 4.3 Eq. 4):  max(0, delta - logP(y+|x) + logP(y-|x));
  - PLaD margin calibration (Sec. 4.3 Eq. 5):   max(0, delta (s(y+) - s(y-)) - logP(y+|x) + logP(y-|x));
  - the optional NLL term on the chosen answer: sft_weight * (-(sum over chosen rows of summed logp) / chosen tokens).
The batch holds B pairs as 2B rows, chosen rows first (TRL concatenated_forward). Outputs: the loss, TRL's
metrics, and d loss / d logits (the gradient the engine's tape must produce).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(14)
D = torch.float64
IGNORE = -100
B, T, V = 3, 6, 9


def tolist(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def seq_logp(logits, labels, tau, normalise):
    """sum_t log softmax(z/tau)[y_t] over kept labels, or its mean (length normalisation)."""
    mask = labels != IGNORE
    safe = labels.clone()
    safe[~mask] = 0
    tok = torch.gather(F.log_softmax(logits / tau, dim=-1), 2, safe.unsqueeze(2)).squeeze(2) * mask
    s = tok.sum(-1)
    return s / mask.sum(-1) if normalise else s


def preference_loss(kind, pc, pr, rc, rr, sc, sr, beta, eps, delta):
    if kind in ("sigmoid", "robust", "hinge", "ipo"):
        logits = (pc - rc) - (pr - rr)
        if kind == "sigmoid":
            losses = -(1 - eps) * F.logsigmoid(beta * logits) - eps * F.logsigmoid(-beta * logits)
        elif kind == "robust":
            losses = (-(1 - eps) * F.logsigmoid(beta * logits) + eps * F.logsigmoid(-beta * logits)) / (1 - 2 * eps)
        elif kind == "hinge":
            losses = torch.relu(1 - beta * logits)
        else:
            losses = (logits - 1 / (2 * beta)) ** 2
        return losses.mean(), beta * (pc - rc).detach(), beta * (pr - rr).detach()
    if kind == "plad-rank":
        losses = torch.relu(delta - pc + pr)
    else:
        losses = torch.relu(delta * (sc - sr) - pc + pr)
    return losses.mean(), pc.detach(), pr.detach()


def main():
    logits = torch.randn(2 * B, T, V, dtype=D) * 1.5
    labels = torch.randint(0, V, (2 * B, T))
    # prompt positions and padding are ignored; answer lengths differ so length normalisation matters
    ignore = [(0, [0, 1]), (1, [0, 1, 2, 5]), (2, [0]), (3, [0, 1]), (4, [0, 1, 2]), (5, [0, 4, 5])]
    for r, cols in ignore:
        labels[r, cols] = IGNORE
    ref_sum = torch.tensor([-9.0, -7.5, -11.0, -10.5, -6.0, -8.0], dtype=D) + torch.randn(2 * B, dtype=D)
    counts = (labels != IGNORE).sum(-1).to(D)
    ref_mean = ref_sum / counts
    scores = torch.rand(2 * B, dtype=D)

    specs = [
        # kind, beta, eps, delta, tau, normalise, sft_weight
        ("sigmoid", 0.1, 0.0, 0.0, 1.0, False, 0.0),
        ("sigmoid", 0.5, 0.2, 0.0, 1.0, False, 0.0),
        ("robust", 0.1, 0.2, 0.0, 1.0, False, 0.0),
        ("hinge", 0.3, 0.0, 0.0, 1.0, False, 0.0),
        ("ipo", 0.5, 0.0, 0.0, 1.0, True, 0.0),
        ("sigmoid", 0.1, 0.0, 0.0, 1.0, False, 0.5),
        ("plad-rank", 0.0, 0.0, 1.0, 1.0, True, 0.0),
        ("plad-rank", 0.0, 0.0, 0.5, 0.7, True, 0.0),
        ("plad-rank", 0.0, 0.0, 2.0, 1.3, False, 0.0),
        ("plad-margin", 0.0, 0.0, 4.0, 0.8, True, 0.0),
        ("plad-margin", 0.0, 0.0, 10.0, 1.0, False, 0.0),
        ("plad-rank", 0.0, 0.0, 1.0, 0.7, True, 0.25),
    ]
    cases = []
    for kind, beta, eps, delta, tau, normalise, sft_weight in specs:
        lg = logits.clone().requires_grad_(True)
        logp = seq_logp(lg, labels, tau, normalise)
        ref = ref_mean if normalise else ref_sum
        pc, pr = logp[:B], logp[B:]
        loss, cr, rj = preference_loss(kind, pc, pr, ref[:B], ref[B:], scores[:B], scores[B:], beta, eps, delta)
        metrics = {"rewards/chosen": float(cr.mean()), "rewards/rejected": float(rj.mean()),
                   "rewards/margins": float((cr - rj).mean()), "rewards/accuracies": float((cr > rj).double().mean()),
                   "logps/chosen": float(pc.detach().mean()), "logps/rejected": float(pr.detach().mean())}
        if sft_weight > 0:
            sums = seq_logp(lg, labels, tau, False)[:B]
            nll = -sums.sum() / counts[:B].sum()
            loss = loss + sft_weight * nll
            metrics["nll/chosen"] = float(nll)
        loss.backward()
        cases.append({"kind": kind, "beta": beta, "labelSmoothing": eps, "delta": delta, "temperature": tau,
                      "lengthNormalized": normalise, "sftWeight": sft_weight,
                      "loss": float(loss), "metrics": metrics, "dLogits": tolist(lg.grad)})
    out = {"generator": "tests/Distill.Training.Tests/reference/preference_reference.py", "torch": torch.__version__,
           "pairs": B, "seqLen": T, "vocab": V, "logits": tolist(logits), "labels": labels.reshape(-1).tolist(),
           "refSum": tolist(ref_sum), "refMean": tolist(ref_mean), "scores": tolist(scores), "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "preference_golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
