"""Rules 2, 3 and 7 of `canonflow.core.normalize` on any JSON value: null members dropped,
numbers as n8n (JavaScript) holds them, resource locators without their cache.

`clean` always returns fresh containers (a document its caller may change in place).
"""

from collections.abc import Mapping
from typing import Any

_MAX_SAFE_INTEGER = 2**53
_RESOURCE_LOCATOR_CACHE_KEYS = ("cachedResultName", "cachedResultUrl")


def clean(value: Any) -> Any:
    """The rules on any JSON value; always returns fresh containers."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        return clean_object(value)
    if kind is list:
        return [item if type(item) is str else clean(item) for item in value]
    if kind is int:
        return value if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER else _js_big(value)
    if kind is float:
        return _js_float(value)
    return _clean_unusual(value)


def clean_object(value: Mapping[str, Any]) -> dict[str, Any]:
    """`clean` of an object: a fresh dict."""
    cleaned = {
        key: item if type(item) is str else clean(item)
        for key, item in value.items()
        if item is not None
    }
    return _without_locator_cache(cleaned)


def _without_locator_cache(cleaned: dict[str, Any]) -> dict[str, Any]:
    if cleaned.get("__rl") is True:
        for key in _RESOURCE_LOCATOR_CACHE_KEYS:
            cleaned.pop(key, None)
    return cleaned


def _clean_unusual(value: Any) -> Any:
    """Subclasses and other containers than JSON parsers produce."""
    if isinstance(value, str | bool):
        return value
    if isinstance(value, Mapping):
        return clean_object(value)
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    if isinstance(value, float):
        return _js_float(value)
    if isinstance(value, int):
        return clean(int(value))
    return value


def _js_float(value: float) -> int | float:
    if value.is_integer() and -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
        return int(value)
    return value


def _js_big(value: int) -> int | float:
    try:
        return _js_float(float(value))
    except OverflowError:  # beyond any double: n8n could not hold it either; keep it exact
        return value
