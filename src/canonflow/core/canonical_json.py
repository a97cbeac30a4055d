"""Canonical JSON: one byte string per JSON value, the same on every run and machine.

The output is defined as exactly what the standard library writes with
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False).encode("utf-8")``:

- UTF-8, no ASCII escaping (only ``"``, ``\\`` and control characters are escaped);
- object keys sorted by code point at every level; compact separators;
- integers written in full, floats as Python's shortest round-trip ``repr``
  (``1.5``, ``1e+16``, ``1e-05``);
- NaN and Infinity rejected with ``ValueError``.

orjson writes the same bytes for almost every document and is several times faster, so it
is tried first. It differs from the standard library in three places, each detected on its
output and handed to the standard library instead:

- NaN and Infinity, which orjson writes as ``null``: a ``null`` value sends the document
  to the standard library, which rejects them;
- floats below 1e-4 in magnitude, which orjson writes as ``0.00001`` or ``1e-7`` where the
  standard library writes ``1e-05`` and ``1e-07``: a value that starts like either sends
  the document to the standard library;
- integers beyond 64 bits, which orjson refuses.

The checks look at what follows ``:``, ``,`` or ``[``, where compact JSON starts a value;
text inside a string can still look like that (``"a:null"``), which only costs speed, never
changes the bytes. A bare scalar goes to the standard library directly.
"""

import json
import math
import re

import orjson

_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_VALUE_START = rb"[:,\[]"  # in compact output every non-key value follows one of these
_NULL_TOKEN = re.compile(rb"null(?<=" + _VALUE_START + rb"null)")
_TINY_DECIMAL = re.compile(
    rb"0\.0000(?:(?<=" + _VALUE_START + rb"0\.0000)|(?<=" + _VALUE_START + rb"-0\.0000))"
)
# A float written as `1e-7`, `-1.25e-7`, ...: "e-" after a mantissa of 1 to 17 digits.
_TINY_EXPONENT = re.compile(
    rb"e-(?:"
    + rb"|".join(
        rb"(?<=" + _VALUE_START + sign + rb"\d" + fraction + rb"e-)"
        for sign in (b"", b"-")
        for fraction in (b"", *(rb"\.\d{%d}" % digits for digits in range(1, 17)))
    )
    + rb")"
)
_CHECKS = ((b"null", _NULL_TOKEN), (b"0.0000", _TINY_DECIMAL), (b"e-", _TINY_EXPONENT))


def canonical_json(obj: object) -> bytes:
    """Serialize a JSON value (dict with str keys, list, tuple, str, int, float, bool, None).

    Raises ValueError for NaN or Infinity (and for strings that are not valid Unicode),
    TypeError for anything that is not JSON data.
    """
    if not isinstance(obj, dict | list | tuple):
        return _stdlib_canonical_json(obj)
    try:
        out = orjson.dumps(obj, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        _check_json_data(obj)
        return _stdlib_canonical_json(obj)
    if _may_differ_from_stdlib(out):
        return _stdlib_canonical_json(obj)
    return out


def _may_differ_from_stdlib(out: bytes) -> bool:
    return any(_found(pattern, literal, out) for literal, pattern in _CHECKS)


def _found(pattern: re.Pattern[bytes], literal: bytes, out: bytes) -> bool:
    """`pattern.search(out) is not None`, for a pattern whose matches start with `literal`:
    the literal is found natively, and the pattern (its look-behind) tried only there; a
    search with these patterns scanned the whole output in the regex engine (issue 19)."""
    at = out.find(literal)
    while at != -1:
        if pattern.match(out, at) is not None:
            return True
        at = out.find(literal, at + 1)
    return False


def _stdlib_canonical_json(obj: object) -> bytes:
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def _check_json_data(obj: object) -> None:
    """Reject what the standard library would accept but JSON data cannot hold."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, got {type(key).__name__}")
            _check_json_data(value)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _check_json_data(item)
    elif isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"{obj!r} is not a JSON number")
    elif obj is not None and not isinstance(obj, str | int):
        raise TypeError(f"{type(obj).__name__} is not JSON data")
