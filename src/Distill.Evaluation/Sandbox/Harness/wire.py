# Strict wire encoding shared by both sides of the sandbox boundary (docs/evaluation.md).
# Only plain values cross: None, bool, int, float, str, list, and the tagged forms
# {"tuple": [...]}, {"set": [...]}, {"frozenset": [...]}, {"dict": [[k, v], ...]},
# {"bytes": "hex"}, {"float": "nan"|"inf"|"-inf"}, {"complex": [re, im]} and
# {"opaque": {"type", "repr", "truthy"}}. A JSON object is therefore always a tag.
# Subclasses of plain types and every other object (re.Match, a class with __eq__ -> True, an int
# subclass) travel as "opaque": on the trusted side an Opaque equals only itself, so it can pass
# `assert f(x)` (truthiness) but never `assert f(x) == expected`. Data-only conversions: the
# collections dicts (Counter, OrderedDict, defaultdict) become plain dicts and numpy values
# their .tolist(), as the comparison semantics of the original harness need for MBPP/HumanEval.
# The candidate side's copy of this module is untrusted (the candidate may patch it); what
# matters is that the TRUSTED side decodes with `decode`, which can only build plain builtin
# values, so subclasses, custom __eq__ and the like never reach the test code.
import json

MAX_DEPTH = 200


class WireError(Exception):
    pass


def encode(x, depth=0, handles=None):
    """Plain values as data; anything else as an opaque value. On the candidate side, `handles`
    keeps such objects so that a later call can get them back by number (MBPP/601 builds Pair
    objects with the candidate's class and passes them to the candidate's function). On the
    trusted side an Opaque goes back as its handle only."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply to cross the sandbox boundary")
    t = type(x)
    if t is int and x.bit_length() > 4000:
        return {"int": hex(x)}  # str(int) is capped at 4300 digits (CVE-2020-10735); hex is not
    if x is None or t is bool or t is str or t is int:
        return x
    if t is type and x in _TYPES.values():
        return {"type": x.__name__ if x is not type(None) else "NoneType"}
    if getattr(t, "_wire_reference", False):
        return {"name": str(x.__name__)}  # trusted side: a candidate name passed as an argument
    if t is float:
        if x != x:
            return {"float": "nan"}
        if x in (float("inf"), float("-inf")):
            return {"float": "inf" if x > 0 else "-inf"}
        return x
    if t is list:
        return [encode(v, depth + 1, handles) for v in x]
    if t is tuple:
        return {"tuple": [encode(v, depth + 1, handles) for v in x]}
    if t is set or t is frozenset:
        return {t.__name__: [encode(v, depth + 1, handles) for v in x]}
    if t is dict:
        return {"dict": [[encode(k, depth + 1, handles), encode(v, depth + 1, handles)] for k, v in x.items()]}
    if t is bytes:
        return {"bytes": x.hex()}
    if t is complex:
        return {"complex": [encode(x.real, depth + 1, handles), encode(x.imag, depth + 1, handles)]}
    if t.__module__ == "collections" and t.__name__ in ("Counter", "OrderedDict", "defaultdict"):
        return {"dict": [[encode(k, depth + 1, handles), encode(v, depth + 1, handles)] for k, v in dict.items(x)]}
    if t.__module__ == "numpy" and hasattr(x, "tolist"):
        return encode(x.tolist(), depth + 1, handles)
    if t is Opaque:
        return {"handle": x.handle}
    handle = -1
    if handles is not None:
        handles.append(x)
        handle = len(handles) - 1
    return {"opaque": {"type": str(t.__name__)[:100], "repr": _safe_repr(x), "truthy": _safe_bool(x), "handle": handle}}


def _safe_repr(x):
    try:
        r = repr(x)
        return r[:200] if type(r) is str else "?"
    except Exception:
        return "?"


def _safe_bool(x):
    try:
        return bool(x) is True
    except Exception:
        return False


class Opaque:
    """A value that could not cross as data: equal only to itself, with the candidate's truthiness."""
    __slots__ = ("type_name", "text", "truthy", "handle")

    def __init__(self, type_name, text, truthy, handle):
        self.type_name, self.text, self.truthy, self.handle = type_name, text, truthy, handle

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    __hash__ = object.__hash__

    def __bool__(self):
        return self.truthy

    def __repr__(self):
        return f"<{self.type_name} {self.text}>"


def _reject_constant(name):
    raise WireError(f"bare {name} is not allowed on the wire (NaN/Infinity travel as tags)")


def _hashable(v):
    # JSON decoding gives lists for tuples only through tags, so anything here is already plain.
    return v


def _decode_node(node, depth=0):
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    t = type(node)
    if node is None or t is bool or t is str or t is int or t is float:
        return node
    if t is list:
        return [_decode_node(v, depth + 1) for v in node]
    if t is dict:
        if len(node) != 1:
            raise WireError("a wire object must have exactly one tag")
        (tag, body), = node.items()
        if tag == "tuple" and type(body) is list:
            return tuple(_decode_node(v, depth + 1) for v in body)
        if tag == "set" and type(body) is list:
            return set(_decode_node(v, depth + 1) for v in body)
        if tag == "frozenset" and type(body) is list:
            return frozenset(_decode_node(v, depth + 1) for v in body)
        if tag == "dict" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("a dict entry must be a [key, value] pair")
                out[_decode_node(pair[0], depth + 1)] = _decode_node(pair[1], depth + 1)
            return out
        if tag == "bytes" and type(body) is str:
            return bytes.fromhex(body)
        if tag == "float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "complex" and type(body) is list and len(body) == 2:
            re_, im = _decode_node(body[0], depth + 1), _decode_node(body[1], depth + 1)
            if type(re_) is float and type(im) is float:
                return complex(re_, im)
        if tag == "opaque" and type(body) is dict and type(body.get("type")) is str \
                and type(body.get("repr")) is str and type(body.get("truthy")) is bool and type(body.get("handle")) is int:
            return Opaque(body["type"][:100], body["repr"][:200], body["truthy"], body["handle"])
        if tag == "int" and type(body) is str and len(body) < 10**7:
            return int(body, 16)
        if tag == "type" and body in _TYPES:
            return _TYPES[body]
        if tag == "name" and type(body) is str and _namespace is not None and body in _namespace:
            return _namespace[body]  # candidate side only
        if tag == "handle" and type(body) is int and _handles is not None and 0 <= body < len(_handles):
            return _handles[body]  # candidate side only: the trusted side never sets _handles
        raise WireError(f"unknown wire tag {tag!r}")
    raise WireError(f"unexpected JSON value of type {t.__name__}")


_handles = None
_namespace = None  # candidate side only: resolves {"name": ...} references to the candidate's globals
_TYPES = {c.__name__: c for c in (int, float, str, bytes, bool, list, tuple, dict, set, frozenset, complex, type, object)}
_TYPES["NoneType"] = type(None)


def decode(node):
    """Turns a parsed wire value into plain builtin values (trusted side)."""
    try:
        return _decode_node(node)
    except TypeError as e:  # unhashable key/element
        raise WireError(str(e))


def loads(line):
    return json.loads(line, parse_constant=_reject_constant)


def dumps(obj):
    return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
