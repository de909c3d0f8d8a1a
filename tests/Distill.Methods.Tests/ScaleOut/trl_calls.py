#!/usr/bin/env python3
"""Reads a generated train.py with Python's own parser (ast; nothing is imported or run: this machine has no trl) and
prints, as JSON, what the C# test compares with TRL's documented API:
  calls:   every call with keyword arguments: the callee's name (f or obj.f -> "f"), its keyword names and the
           values of those given as literals
  classes: every class: its bases and the methods it defines (overrides of TRL methods)
  imports: every "from X import a, b" as X -> [a, b]
Usage: trl_calls.py TRAIN_PY
"""
import ast
import json
import sys


def callee(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def main(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    calls, classes, imports = [], {}, {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = callee(node.func)
            keywords = [k.arg for k in node.keywords]
            if name and keywords:
                values = {k.arg: k.value.value for k in node.keywords
                          if k.arg and isinstance(k.value, ast.Constant) and isinstance(k.value.value, (int, float, str, bool))}
                calls.append({"callee": name, "keywords": keywords, "values": values, "line": node.lineno})
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = {
                "bases": [callee(b) for b in node.bases],
                "methods": [n.name for n in node.body if isinstance(n, ast.FunctionDef)],
            }
        elif isinstance(node, ast.ImportFrom):
            imports.setdefault(node.module, []).extend(a.name for a in node.names)
    json.dump({"calls": calls, "classes": classes, "imports": imports}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
