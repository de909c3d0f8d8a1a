# Candidate worker: runs in its own sandbox, as its own uid, and defines the UNTRUSTED candidate
# in this interpreter. It answers call requests on stdin with results on a private copy of the
# original stdout. Nothing here is trusted: the candidate may patch this very code. Whatever it
# does, all it can send is a JSON line, which the trusted test process decodes into plain values.
import os
import sys

import wire

_reply = None  # set by serve(): a private copy of the original stdout


def _send(obj):
    _reply.write(wire.dumps(obj) + "\n")
    _reply.flush()


def _error(e):
    return {"type": type(e).__name__, "message": str(e)[:2000]}


_objects = []  # objects returned as opaque handles, by number


def main(box):
    namespace = {"__name__": "__candidate__", "__builtins__": __builtins__}
    try:
        with open(box + "/solution.py", encoding="utf-8") as f:
            source = f.read()
        exec(compile(source, "<candidate>", "exec"), namespace)
    except BaseException as e:  # SyntaxError, ImportError, SystemExit at import...
        _send({"load_error": _error(e)})
        return
    wire._namespace = namespace
    _send({"ready": True})
    for line in sys.stdin:
        request = wire.loads(line)
        fn = namespace.get(request["call"])
        try:
            if not callable(fn):
                raise NameError(f"name '{request['call']}' is not defined by the candidate")
            args = wire.decode(request["args"])
            kwargs = {k: wire.decode(v) for k, v in request["kwargs"]}
            result = fn(*args, **kwargs)
            _send({"ok": wire.encode(result, handles=_objects)})
        except BaseException as e:
            _send({"raise": _error(e)})


def serve(box):
    """Runs in a fresh child of the zygote (Harness/zygote.py), or standalone: python3 worker.py BOX."""
    global _reply
    _reply = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)  # the candidate's own prints go to stderr, never onto the reply channel
    # line-buffered: what the candidate printed is in its stderr even when it is killed after the verdict
    sys.stdout = sys.__stdout__ = os.fdopen(1, "w", encoding="utf-8", closefd=False, buffering=1)
    wire._handles = _objects
    main(box)
    _reply.flush()


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    serve(sys.argv[1])
