# Strict wire encoding shared by both sides of the sandbox boundary (docs/evaluation.md).
# Only plain values cross: None, bool, int, float, str, list, and the tagged forms
# {"tuple": [...]}, {"set": [...]}, {"frozenset": [...]}, {"dict": [[k, v], ...]},
# {"bytes": "hex"}, {"float": "nan"|"inf"|"-inf"}. A JSON object is therefore always a tag.
# The candidate side's copy of this module is untrusted (the candidate may patch it); what
# matters is that the TRUSTED side decodes with `decode`, which can only build plain builtin
# values, so subclasses, custom __eq__ and the like never reach the test code.
import json

MAX_DEPTH = 200


class WireError(Exception):
    pass


def encode(x, depth=0):
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply to cross the sandbox boundary")
    t = type(x)
    if x is None or t is bool or t is str or t is int:
        return x
    if t is float:
        if x != x:
            return {"float": "nan"}
        if x in (float("inf"), float("-inf")):
            return {"float": "inf" if x > 0 else "-inf"}
        return x
    if t is list:
        return [encode(v, depth + 1) for v in x]
    if t is tuple:
        return {"tuple": [encode(v, depth + 1) for v in x]}
    if t is set or t is frozenset:
        return {t.__name__: [encode(v, depth + 1) for v in x]}
    if t is dict:
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in x.items()]}
    if t is bytes:
        return {"bytes": x.hex()}
    raise WireError(f"a value of type {t.__name__} cannot cross the sandbox boundary")


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
        raise WireError(f"unknown wire tag {tag!r}")
    raise WireError(f"unexpected JSON value of type {t.__name__}")


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
