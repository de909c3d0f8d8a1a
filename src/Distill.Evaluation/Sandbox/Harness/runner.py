# Trusted test runner: runs the tests in a pristine interpreter that never executes candidate
# code. The candidate is reached only through Proxy objects whose calls cross to the candidate's
# process as JSON lines (through the C# host) and come back as plain values (wire.decode). The
# final verdict line goes to a private copy of stdout; the C# host decides the verdict from it
# together with the candidate process's fate.
import ast
import builtins
import importlib
import json
import os
import sys
import traceback

import wire

_chan = None  # set by serve(): a private copy of the original stdout (verdict and calls)
_calls = None  # and of stdin (replies)
_builtin_names = set(dir(builtins))
CUT = 50  # PERsD cuts INPUT/OUTPUT/EXPECTED values to 50 characters


def _repr(x):
    try:
        return repr(x)
    except ValueError:  # ints beyond sys.get_int_max_str_digits()
        return f"<{type(x).__name__} too large to print>"


def _send(obj):
    _chan.write(json.dumps(obj) + "\n")
    _chan.flush()


class CandidateError(Exception):
    """An exception raised by the candidate whose type is not a builtin exception."""


class Proxy:
    _wire_reference = True  # passed as an argument, a proxy names the candidate's object
    last_input = None
    last_output = None

    def __init__(self, name):
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        Proxy.last_input = ", ".join([_repr(a) for a in args] + [f"{k}={_repr(v)}" for k, v in kwargs.items()])
        Proxy.last_output = None
        _send({"call": self.__name__, "args": wire.encode(list(args)),
               "kwargs": [[k, wire.encode(v)] for k, v in kwargs.items()]})
        line = _calls.readline()
        if not line:
            raise SystemExit(3)  # the host closed the channel: the candidate is gone
        try:
            reply = wire.loads(line)
            if type(reply) is not dict or len(reply) != 1:
                raise wire.WireError("reply must be an object with one key")
            if "ok" in reply:
                value = wire.decode(reply["ok"])
                Proxy.last_output = _repr(value)
                return value
            err = reply.get("raise")
            if type(err) is not dict or type(err.get("type")) is not str or type(err.get("message")) is not str:
                raise wire.WireError("malformed reply")
        except (ValueError, wire.WireError) as e:
            raise CandidateError(f"WireError : {e}") from None
        text = f"{err['type']} : {err['message']}"
        kind = getattr(builtins, err["type"], None)
        if isinstance(kind, type) and issubclass(kind, Exception):
            try:
                e = kind(err["message"])
            except TypeError:  # exception types whose constructor wants other arguments
                e = None
            if e is not None:
                e.persd_text = text
                raise e
        raise CandidateError(text)


def _bound_names(tree):
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return bound


def _cut(s):
    s = "" if s is None else str(s)
    return s if len(s) <= CUT else s[:CUT] + "..."


def _expected(tree, tb):
    """Evaluates the right side of the failing `assert x == y` in its frame, if it is safe."""
    frame, lineno = None, None
    for f, ln in traceback.walk_tb(tb):
        if f.f_code.co_filename == "<tests>":
            frame, lineno = f, ln
    if frame is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.lineno <= lineno <= (node.end_lineno or node.lineno):
            test = node.test
            if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
                right = test.comparators[0]
                names = {n.id for n in ast.walk(right) if isinstance(n, ast.Name)}
                scope = dict(frame.f_globals)
                scope.update(frame.f_locals)
                if any(isinstance(scope.get(n), Proxy) for n in names):
                    return None
                try:
                    return _repr(eval(compile(ast.Expression(right), "<expected>", "eval"), scope))
                except Exception:
                    return None
    return None


def _describe(e, tree):
    if isinstance(e, AssertionError):
        lines = ["AssertionError"]
        if Proxy.last_input is not None:
            lines.append("INPUT: " + _cut(Proxy.last_input))
            lines.append("OUTPUT: " + _cut(Proxy.last_output))
            expected = _expected(tree, e.__traceback__)
            if expected is not None:
                lines.append("EXPECTED: " + _cut(expected))
        return "\n".join(lines)
    if isinstance(e, CandidateError):
        return str(e)
    if getattr(e, "persd_text", None):
        return e.persd_text
    return f"{type(e).__name__} : {e}"


def main(box):
    with open(box + "/meta.json", encoding="utf-8") as f:
        meta = json.load(f)
    with open(box + "/prelude.py", encoding="utf-8") as f:
        prelude = f.read()
    with open(box + "/tests.py", encoding="utf-8") as f:
        tests = f.read()
    g = {"__name__": "__tests__"}
    exec(compile(prelude, "<prelude>", "exec"), g)
    tree = ast.parse(tests, "<tests>")
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    # Names the tests use but do not define: standard-library modules the original harness got
    # from the candidate's namespace (MBPP's `sys.getsizeof` in tests) are imported here, trusted;
    # the rest are the candidate's functions. A builtin is proxied only when it is the entry point
    # (MBPP's `def sum(a, b)`), so a candidate can never take over the tests' isinstance & co.
    unbound = loaded - _bound_names(tree) - set(g) - _builtin_names
    entry = meta.get("entry_point")
    for name in sorted(unbound | ({entry} if entry else set())):
        if name != entry and name in sys.stdlib_module_names:
            g[name] = importlib.import_module(name)
        else:
            g[name] = Proxy(name)
    try:
        for stmt in tree.body:
            exec(compile(ast.Module([stmt], type_ignores=[]), "<tests>", "exec"), g)
        if entry and callable(g.get("check")) and not isinstance(g.get("check"), Proxy):
            g["check"](g[entry])
    except SystemExit as e:
        if e.code == 3:
            return
        _send({"verdict": "failed", "error": f"SystemExit : {e.code}"})
        return
    except BaseException as e:
        _send({"verdict": "failed", "error": _describe(e, tree)})
        return
    _send({"verdict": "passed"})


def serve(box):
    """Runs in a fresh child of the zygote (Harness/zygote.py), or standalone: python3 runner.py BOX."""
    global _chan, _calls
    _chan = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    _calls = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.__stdout__ = os.fdopen(1, "w", encoding="utf-8", closefd=False)
    main(box)


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    serve(sys.argv[1])
