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

- NaN and Infinity, which orjson writes as ``null``: any ``null`` token sends the
  document to the standard library, which rejects them;
- floats below 1e-4 in magnitude, which orjson writes as ``0.00001`` or ``1e-7`` where the
  standard library writes ``1e-05`` and ``1e-07``: any ``.0000`` or digit-``e-`` sequence
  sends the document to the standard library;
- integers beyond 64 bits, which orjson refuses.

These checks may also fire on text inside strings; that only costs speed, never changes
the bytes.
"""

import json
import math
import re
from collections.abc import Mapping

import orjson

_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_TINY_FLOAT_EXPONENT = re.compile(rb"\de-")


def canonical_json(obj: object) -> bytes:
    """Serialize a JSON value (dict with str keys, list, tuple, str, int, float, bool, None).

    Raises ValueError for NaN or Infinity (and for strings that are not valid Unicode),
    TypeError for anything that is not JSON data.
    """
    try:
        out = orjson.dumps(obj, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        _check_json_data(obj)
        return _stdlib_canonical_json(obj)
    if _may_differ_from_stdlib(out):
        return _stdlib_canonical_json(obj)
    return out


def _may_differ_from_stdlib(out: bytes) -> bool:
    if b"null" in out or b".0000" in out:
        return True
    return b"e-" in out and _TINY_FLOAT_EXPONENT.search(out) is not None


def _stdlib_canonical_json(obj: object) -> bytes:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _check_json_data(obj: object) -> None:
    """Reject what the standard library would accept but JSON data cannot hold."""
    if isinstance(obj, Mapping):
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
