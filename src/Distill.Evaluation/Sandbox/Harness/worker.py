# Candidate worker: runs in its own sandbox, as its own uid, and defines the UNTRUSTED candidate
# in this interpreter. It answers call requests on stdin with results on a private copy of the
# original stdout. Nothing here is trusted: the candidate may patch this very code. Whatever it
# does, all it can send is a JSON line, which the trusted test process decodes into plain values.
import os
import sys

BOX = sys.argv[1]
sys.path.insert(0, BOX)
import wire  # noqa: E402

_reply = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
os.dup2(2, 1)  # the candidate's own prints go to stderr, never onto the reply channel


def _send(obj):
    _reply.write(wire.dumps(obj) + "\n")
    _reply.flush()


def _error(e):
    return {"type": type(e).__name__, "message": str(e)[:2000]}


_objects = []  # objects returned as opaque handles, by number
wire._handles = _objects


def main():
    namespace = {"__name__": "__candidate__", "__builtins__": __builtins__}
    try:
        with open(BOX + "/solution.py", encoding="utf-8") as f:
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


main()
