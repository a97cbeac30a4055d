"""Opaque keyset cursors."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from canonflow.errors import Invalid


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page") from None
    if not isinstance(values, list):
        raise Invalid("invalid cursor: pass back the next_cursor of a previous page")
    return values
