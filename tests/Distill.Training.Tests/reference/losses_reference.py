#!/usr/bin/python3
"""Golden values for Distill's loss kernels and preference losses, from an independent implementation.

Run with Debian's interpreter (python3-torch 1.13):  /usr/bin/python3 losses_reference.py
Writes losses_golden.json beside this file. CI does not regenerate it; the C# tests read it.

Everything is computed in float64 with torch autograd, from the formulas of docs/losses.md written the
way the cited Python functions write them (TRL and DistiLLM are not installed here):
  - token divergences: TRL GKDTrainer.generalized_jsd_loss (beta = 0 -> forward KL, beta = 1 ->
    reverse KL, else the generalised JSD via logsumexp of the mixture; "batchmean" over label != -100),
    DistiLLM losses.py tv_distance, skewed_forward_kl, skewed_reverse_kl;
  - sequence log-probs: TRL DPOTrainer.get_batch_logps (gather of log_softmax at the labels, masked
    by labels != -100, summed; average_log_prob divides by the mask count); the inputs here are
    already aligned (the caller shifts logits[:, :-1] / labels[:, 1:]);
  - preference losses: TRL DPOTrainer.dpo_loss for loss_type "sigmoid" (with label_smoothing),
    "robust", "hinge", "ipo"; the PLaD ranking/margin losses from the PLaD paper's description.
Inputs are seeded and stored in the JSON, so the C# side needs no torch RNG.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20231)
D = torch.float64
IGNORE = -100


def tolist(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


# ---------- token-level divergences ----------

def generalized_jsd_loss(student_logits, teacher_logits, labels, beta, temperature):
    """TRL GKDTrainer.generalized_jsd_loss, reduction='batchmean'."""
    student_logits = student_logits / temperature
    teacher_logits = teacher_logits / temperature
    s = F.log_softmax(student_logits, dim=-1)
    t = F.log_softmax(teacher_logits, dim=-1)
    if beta == 0:
        jsd = F.kl_div(s, t, reduction="none", log_target=True)          # KL(p || q)
    elif beta == 1:
        jsd = F.kl_div(t, s, reduction="none", log_target=True)          # KL(q || p)
    else:
        b = torch.tensor(beta, dtype=D)
        m = torch.logsumexp(torch.stack([s + torch.log(1 - b), t + torch.log(b)]), dim=0)
        kl_teacher = F.kl_div(m, t, reduction="none", log_target=True)   # KL(p || m)
        kl_student = F.kl_div(m, s, reduction="none", log_target=True)   # KL(q || m)
        jsd = beta * kl_teacher + (1 - beta) * kl_student
    mask = labels != IGNORE
    return jsd[mask].sum() / mask.sum()


def masked_row_mean(x, labels):
    mask = labels != IGNORE
    return x[mask].sum() / mask.sum()


def tv_distance(student_logits, teacher_logits, labels, temperature):
    """DistiLLM tv_distance: sum 0.5 |p - q| per token, mean over kept tokens."""
    p = F.softmax(teacher_logits / temperature, dim=-1)
    q = F.softmax(student_logits / temperature, dim=-1)
    return masked_row_mean(0.5 * (p - q).abs().sum(-1), labels)


def skewed_forward_kl(student_logits, teacher_logits, labels, temperature, lam):
    """DistiLLM skewed_forward_kl: -sum p log(lam p + (1-lam) q)."""
    p = F.softmax(teacher_logits / temperature, dim=-1)
    q = F.softmax(student_logits / temperature, dim=-1)
    mixed = lam * p + (1 - lam) * q
    return masked_row_mean(-(p * torch.log(mixed)).sum(-1), labels)


def skewed_reverse_kl(student_logits, teacher_logits, labels, temperature, lam):
    """DistiLLM skewed_reverse_kl: -sum q log((1-lam) p + lam q) + sum q log q."""
    p = F.softmax(teacher_logits / temperature, dim=-1)
    q = F.softmax(student_logits / temperature, dim=-1)
    lq = F.log_softmax(student_logits / temperature, dim=-1)
    mixed = (1 - lam) * p + lam * q
    return masked_row_mean(-(q * torch.log(mixed)).sum(-1) + (q * lq).sum(-1), labels)


def divergence_cases():
    rows, vocab = 7, 19
    teacher = torch.randn(rows, vocab, dtype=D) * 2.0
    student = torch.randn(rows, vocab, dtype=D) * 1.5
    labels = torch.tensor([3, IGNORE, 0, 18, IGNORE, 5, 7])
    cases = []
    specs = [
        ("ForwardKl", 1.0, 0.5, 0.1), ("ForwardKl", 2.0, 0.5, 0.1),
        ("ReverseKl", 1.0, 0.5, 0.1), ("ReverseKl", 0.7, 0.5, 0.1),
        ("Jsd", 1.0, 0.5, 0.1), ("Jsd", 2.0, 0.1, 0.1), ("Jsd", 1.0, 0.9, 0.1),
        ("Tvd", 1.0, 0.5, 0.1), ("Tvd", 2.0, 0.5, 0.1),
        ("SkewForwardKl", 1.0, 0.5, 0.1), ("SkewForwardKl", 2.0, 0.5, 0.3),
        ("SkewReverseKl", 1.0, 0.5, 0.1), ("SkewReverseKl", 2.0, 0.5, 0.3),
    ]
    for kind, tau, beta, alpha in specs:
        s = student.clone().requires_grad_(True)
        if kind == "ForwardKl":
            loss = generalized_jsd_loss(s, teacher, labels, 0, tau)
        elif kind == "ReverseKl":
            loss = generalized_jsd_loss(s, teacher, labels, 1, tau)
        elif kind == "Jsd":
            loss = generalized_jsd_loss(s, teacher, labels, beta, tau)
        elif kind == "Tvd":
            loss = tv_distance(s, teacher, labels, tau)
        elif kind == "SkewForwardKl":
            loss = skewed_forward_kl(s, teacher, labels, tau, alpha)
        else:
            loss = skewed_reverse_kl(s, teacher, labels, tau, alpha)
        loss.backward()
        cases.append({"kind": kind, "temperature": tau, "beta": beta, "alpha": alpha,
                      "loss": float(loss), "dStudent": tolist(s.grad)})
    return {"rows": rows, "vocab": vocab, "teacher": tolist(teacher), "student": tolist(student),
            "labels": labels.tolist(), "cases": cases}


# ---------- softmax / log-softmax with temperature ----------

def softmax_cases():
    rows, vocab, tau = 3, 13, 1.7
    x = torch.randn(rows, vocab, dtype=D) * 3
    dy = torch.randn(rows, vocab, dtype=D)
    out = {"rows": rows, "vocab": vocab, "temperature": tau, "x": tolist(x), "dy": tolist(dy)}
    for name, fn in (("softmax", F.softmax), ("logSoftmax", F.log_softmax)):
        xx = x.clone().requires_grad_(True)
        y = fn(xx / tau, dim=-1)
        (y * dy).sum().backward()
        out[name] = {"y": tolist(y), "dx": tolist(xx.grad)}
    return out


# ---------- sequence log-probabilities ----------

def get_batch_logps(logits, labels, average_log_prob):
    """TRL DPOTrainer.get_batch_logps on already-aligned logits/labels."""
    loss_mask = labels != IGNORE
    labels = labels.clone()
    labels[labels == IGNORE] = 0
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    if average_log_prob:
        return (per_token * loss_mask).sum(-1) / loss_mask.sum(-1)
    return (per_token * loss_mask).sum(-1)


def seqlogprob_case():
    B, T, V = 3, 6, 11
    logits = torch.randn(B, T, V, dtype=D) * 2
    targets = torch.randint(0, V, (B, T))
    targets[0, :2] = IGNORE      # prompt tokens
    targets[1, 5] = IGNORE       # padding
    targets[2, 0] = IGNORE
    d_sum = torch.randn(B, dtype=D)
    d_mean = torch.randn(B, dtype=D)
    lg = logits.clone().requires_grad_(True)
    s = get_batch_logps(lg, targets, False)
    m = get_batch_logps(lg, targets, True)
    ((s * d_sum).sum() + (m * d_mean).sum()).backward()
    return {"batch": B, "seqLen": T, "vocab": V, "logits": tolist(logits), "targets": targets.reshape(-1).tolist(),
            "dSum": tolist(d_sum), "dMean": tolist(d_mean), "sum": tolist(s), "mean": tolist(m), "dLogits": tolist(lg.grad)}


# ---------- preference losses ----------

def dpo_loss(pc, pr, rc, rr, beta, label_smoothing, loss_type):
    """TRL DPOTrainer.dpo_loss (pre-2025 layout): logits = pi_logratios - ref_logratios."""
    logits = (pc - pr) - (rc - rr)
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) * label_smoothing
    elif loss_type == "robust":
        losses = (-F.logsigmoid(beta * logits) * (1 - label_smoothing)
                  + F.logsigmoid(-beta * logits) * label_smoothing) / (1 - 2 * label_smoothing)
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * logits)
    elif loss_type == "ipo":
        losses = (logits - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(loss_type)
    chosen_rewards = beta * (pc - rc).detach()
    rejected_rewards = beta * (pr - rr).detach()
    return losses.mean(), chosen_rewards, rejected_rewards


def metrics(cr, rr, pc, pr):
    return {"rewards/chosen": float(cr.mean()), "rewards/rejected": float(rr.mean()),
            "rewards/margins": float((cr - rr).mean()), "rewards/accuracies": float((cr > rr).double().mean()),
            "logps/chosen": float(pc.detach().mean()), "logps/rejected": float(pr.detach().mean())}


def preference_cases():
    B = 6
    # summed log-probs around -40; the policy is a perturbed reference, so margins have both signs
    rc = -40 + 8 * torch.randn(B, dtype=D)
    rr = -45 + 8 * torch.randn(B, dtype=D)
    pc = rc + 3 * torch.randn(B, dtype=D)
    pr = rr + 3 * torch.randn(B, dtype=D)
    cases = []
    for loss_type, beta, eps in (("sigmoid", 0.1, 0.0), ("sigmoid", 0.1, 0.2), ("sigmoid", 0.5, 0.0),
                                 ("robust", 0.1, 0.2), ("hinge", 0.1, 0.0), ("hinge", 0.3, 0.0), ("ipo", 0.1, 0.0), ("ipo", 0.5, 0.0)):
        if loss_type == "ipo":   # IPO works on length-normalised log-probs (TRL divides by the completion length)
            a, b_, c, d = pc / 20, pr / 25, rc / 20, rr / 25
        else:
            a, b_, c, d = pc, pr, rc, rr
        a = a.clone().requires_grad_(True)
        b_ = b_.clone().requires_grad_(True)
        loss, cr, rj = dpo_loss(a, b_, c, d, beta, eps, loss_type)
        loss.backward()
        cases.append({"lossType": loss_type, "beta": beta, "labelSmoothing": eps,
                      "policyChosen": tolist(a), "policyRejected": tolist(b_), "refChosen": tolist(c), "refRejected": tolist(d),
                      "loss": float(loss), "dPolicyChosen": tolist(a.grad), "dPolicyRejected": tolist(b_.grad),
                      "metrics": metrics(cr, rj, a, b_)})
    # PLaD: length-normalised log-likelihoods around -1.5, scores in [0, 1]
    lc = (-1.5 + 0.5 * torch.randn(B, dtype=D)).requires_grad_(True)
    lr = (-1.6 + 0.5 * torch.randn(B, dtype=D)).requires_grad_(True)
    sc = torch.rand(B, dtype=D)
    sr = torch.rand(B, dtype=D)
    plad = []
    for name, delta in (("ranking", 0.5), ("margin", 4.0)):
        lc.grad = None
        lr.grad = None
        if name == "ranking":
            loss = torch.relu(delta - lc + lr).mean()
        else:
            loss = torch.relu(delta * (sc - sr) - lc + lr).mean()
        loss.backward()
        plad.append({"name": name, "delta": delta, "loss": float(loss),
                     "dChosen": tolist(lc.grad), "dRejected": tolist(lr.grad),
                     "metrics": metrics(lc.detach(), lr.detach(), lc, lr)})
    return {"dpo": cases, "plad": {"chosen": tolist(lc), "rejected": tolist(lr), "chosenScore": tolist(sc),
                                   "rejectedScore": tolist(sr), "cases": plad}}


def main():
    out = {"generator": "tests/Distill.Training.Tests/reference/losses_reference.py",
           "torch": torch.__version__,
           "divergences": divergence_cases(), "softmax": softmax_cases(),
           "sequenceLogProb": seqlogprob_case(), "preference": preference_cases()}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses_golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path, "ln2 check:", dpo_loss(torch.zeros(1, dtype=D), torch.zeros(1, dtype=D), torch.zeros(1, dtype=D), torch.zeros(1, dtype=D), 0.1, 0.0, "sigmoid")[0].item(), math.log(2))


if __name__ == "__main__":
    main()
