#!/usr/bin/env python3
"""Generates the ROUGE / Porter-stemmer goldens for Distill.Evaluation.Tests.

Independent parts: the stemmer is Debian's python3-nltk (nltk.stem.porter.PorterStemmer(), the
default NLTK_EXTENSIONS mode that rouge-score uses). The scorer below is written from the
rouge-score package's documented algorithm (tokenize.py, rouge_scorer.py) in Python, separately
from the C# code; rouge-score itself is not packaged for Debian and PyPI is unreachable here.

Run: /usr/bin/python3 gen_rouge.py ../../../../data/benchmarks   (writes stems.json, rouge.json)
"""
import collections
import gzip
import json
import re
import sys

from nltk.stem import porter

STEMMER = porter.PorterStemmer()


def tokenize(text, stem):
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    tokens = re.split(r"\s+", text)
    if stem:
        tokens = [STEMMER.stem(x) if len(x) > 3 else x for x in tokens]
    return [x for x in tokens if re.match(r"^[a-z0-9]+$", x)]


def f(p, r):
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def ngram(t, p, n):
    tc = collections.Counter(tuple(t[i:i + n]) for i in range(len(t) - n + 1))
    pc = collections.Counter(tuple(p[i:i + n]) for i in range(len(p) - n + 1))
    hit = sum(min(c, pc[g]) for g, c in tc.items())
    return f(hit / max(sum(pc.values()), 1), hit / max(sum(tc.values()), 1))


def table(a, b):
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t


def lcs(t, p):
    if not t or not p:
        return 0.0
    n = table(t, p)[-1][-1]
    return f(n / len(p), n / len(t))


def lcs_indices(r, c):
    t = table(r, c)
    i, j, out = len(r), len(c), []
    while i > 0 and j > 0:
        if r[i - 1] == c[j - 1]:
            out.append(i - 1); i -= 1; j -= 1
        elif t[i][j - 1] > t[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return out


def lsum(target, prediction, stem):
    rs = [tokenize(s, stem) for s in target.split("\n") if s]
    cs = [tokenize(s, stem) for s in prediction.split("\n") if s]
    if not rs or not cs:
        return 0.0
    m, n = sum(map(len, rs)), sum(map(len, cs))
    if not m or not n:
        return 0.0
    cr = collections.Counter(x for s in rs for x in s)
    cc = collections.Counter(x for s in cs for x in s)
    hits = 0
    for r in rs:
        for i in sorted(set().union(*[set(lcs_indices(r, c)) for c in cs])):
            tok = r[i]
            if cc[tok] > 0 and cr[tok] > 0:
                hits += 1; cc[tok] -= 1; cr[tok] -= 1
    return f(hits / n, hits / m)


PAIRS = [
    ("The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log."),
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("", "something"),
    ("something", ""),
    ("!!!", "..."),
    ("Running runners ran; the runner runs.", "A runner is running and runs quickly."),
    ("Police killed the gunman.\nThe gunman was armed.", "The gunman was killed by police.\nPolice were armed."),
    ("first line\n\nsecond line here\nthird", "third line\nfirst here"),
    ("Numbers 12 and 3.14 count: 42, 42, 42.", "42 numbers count 12 times and 3 14"),
    ("Caresses ponies ties caress cats", "caress pony tie caresses cat"),
    ("generalizations of conditional relational operators", "generalization conditionally relates operations"),
    ("Hopefulness, goodness and electricity", "hopeful good electrical electric"),
    ("a b c d e f g", "g f e d c b a"),
    ("a a a b b", "a b a b a b"),
    ("It's a dog's life — naïve café résumé", "its a dogs life naive cafe resume"),
    ("UPPER lower MiXeD", "upper LOWER mixed"),
    ("the the the the", "the"),
    ("Students distilled the teacher's knowledge into smaller models.",
     "The smaller student model was distilled from the teacher's knowledge."),
    ("sky skies dying lying tying news innings outing", "skies sky die lie tie news inning outings"),
    ("controlling rolled agreed feed plastered bled motoring sing", "control roll agree fed plaster bleed motor singing"),
]


def main(bench):
    words = set()
    with gzip.open(f"{bench}/humaneval/HumanEval.jsonl.gz", "rt") as fh:
        for line in fh:
            words.update(re.findall(r"[a-z]+", json.loads(line)["prompt"].lower()))
    with open(f"{bench}/mbpp/mbpp.jsonl") as fh:
        for line in fh:
            words.update(re.findall(r"[a-z]+", json.loads(line)["text"].lower()))
    words = sorted(w for w in words if len(w) > 2)
    with open("stems.json", "w") as fh:
        json.dump({w: STEMMER.stem(w) for w in words}, fh, indent=0, sort_keys=True)
    cases = []
    for t, p in PAIRS:
        for stem in (False, True):
            tt, pp = tokenize(t, stem), tokenize(p, stem)
            cases.append({"target": t, "prediction": p, "stemmer": stem,
                          "rouge1": ngram(tt, pp, 1), "rouge2": ngram(tt, pp, 2), "rougeL": lcs(tt, pp),
                          "rougeLsum": lsum(t, p, stem), "target_words": len(tt), "prediction_words": len(pp)})
    with open("rouge.json", "w") as fh:
        json.dump(cases, fh, indent=1, ensure_ascii=False)
    print(f"{len(words)} stems, {len(cases)} ROUGE cases")


main(sys.argv[1] if len(sys.argv) > 1 else "../../../../data/benchmarks")
