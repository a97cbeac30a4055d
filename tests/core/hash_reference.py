"""The content-hash pipeline as it was before issue 19 (commit 22ec881), kept verbatim as the
reference the faster one is checked against (`test_hash_differential.py`) and measured
beside (`bench/hashing.py`). Not used by canonflow itself.

It is DESIGN section 4 written plainly: a fresh copy of what counts (`_clean` walks every
value), then orjson with sorted keys, handed to the standard library wherever the two could
write different bytes.
"""

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from canonflow.core._workflow_refs import WorkflowRefs
from canonflow.core.publication import running_form
from canonflow.core.workflow_shape import parse_json, validate_workflow

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


def reference_canonical_json(obj: object) -> bytes:
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
    return any(
        pattern.search(out) is not None for pattern in (_NULL_TOKEN, _TINY_DECIMAL, _TINY_EXPONENT)
    )


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


_TOP_LEVEL_SCALARS = ("name", "description")
_SETTINGS_DEFAULTS: Mapping[str, Any] = {
    "executionOrder": "v1",
    "callerPolicy": "workflowsFromSameOwner",
    "availableInMCP": False,
}
_NODE_FIELDS = frozenset({
    "name", "type", "typeVersion", "parameters", "disabled", "notes", "onError",
    "continueOnFail", "retryOnFail", "maxTries", "waitBetweenTries", "alwaysOutputData",
    "executeOnce",
})  # fmt: skip
_NODE_DEFAULTS: Mapping[str, object] = {
    "parameters": {},
    "disabled": False,
    "notes": "",
    "onError": "stopWorkflow",
    "continueOnFail": False,
    "retryOnFail": False,
    "alwaysOutputData": False,
    "executeOnce": False,
}
_RESOURCE_LOCATOR_CACHE_KEYS = ("cachedResultName", "cachedResultUrl")
_MAX_SAFE_INTEGER = 2**53


@dataclass(frozen=True)
class Normalized:
    """A workflow reduced to what counts, and the workflow ids `refs` could not resolve."""

    document: dict[str, Any]
    unresolved_refs: tuple[str, ...]


def normalize(workflow: Mapping[str, Any], refs: Mapping[str, str] | None = None) -> Normalized:
    """Apply the hash_version 1 rules (module docstring) to one workflow.

    `refs` maps n8n workflow ids of the workflow's environment to canonical slugs.
    Raises InvalidWorkflow if `workflow` does not have the shape of an n8n workflow.
    An n8n 2.x workflow that runs a published version other than its draft is read as what
    it runs (`canonflow.core.publication.running_form`).
    """
    checked = validate_workflow(
        running_form(workflow) if isinstance(workflow, Mapping) else workflow
    )
    references = WorkflowRefs(refs)
    nodes = checked["nodes"]
    document: dict[str, Any] = {
        "connections": _normalize_connections(checked["connections"], _positions(nodes)),
        "nodes": sorted(
            (_normalize_node(node, references) for node in nodes), key=lambda n: n["name"]
        ),
        "settings": _normalize_settings(checked.get("settings"), references),
    }
    for key in _TOP_LEVEL_SCALARS:
        value = _clean(checked.get(key))
        if value is not None:
            document[key] = value
    return Normalized(document=document, unresolved_refs=tuple(sorted(references.unresolved)))


def _clean(value: Any) -> Any:
    """Rules 2, 3 and 7 on any JSON value; always returns fresh containers."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        return _clean_object(value)
    if kind is list:
        return [item if type(item) is str else _clean(item) for item in value]
    if kind is int:
        return value if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER else _js_big(value)
    if kind is float:
        return _js_float(value)
    return _clean_unusual(value)


def _clean_object(value: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {
        key: item if type(item) is str else _clean(item)
        for key, item in value.items()
        if item is not None
    }
    if cleaned.get("__rl") is True:
        for key in _RESOURCE_LOCATOR_CACHE_KEYS:
            cleaned.pop(key, None)
    return cleaned


def _clean_unusual(value: Any) -> Any:
    """Subclasses and other containers than JSON parsers produce."""
    if isinstance(value, str | bool):
        return value
    if isinstance(value, Mapping):
        return _clean_object(value)
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    if isinstance(value, float):
        return _js_float(value)
    if isinstance(value, int):
        return _clean(int(value))
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


def _normalize_node(node: Mapping[str, Any], refs: WorkflowRefs) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NODE_FIELDS and value is not None:
            cleaned = _clean(value)
            if not _is_default(key, cleaned):
                result[key] = cleaned
    credentials = _credential_names(node.get("credentials"))
    if credentials:
        result["credentials"] = credentials
    if "parameters" in result:
        refs.resolve_node(result["type"], result["parameters"])
    return result


def _is_default(key: str, value: object) -> bool:
    default = _NODE_DEFAULTS.get(key)
    return default is not None and type(value) is type(default) and value == default


def _credential_names(credentials: Mapping[str, Any] | None) -> dict[str, str]:
    names: dict[str, str] = {}
    for credential_type, credential in (credentials or {}).items():
        name = credential.get("name") if isinstance(credential, Mapping) else credential
        if isinstance(name, str):
            names[credential_type] = name
    return names


def _normalize_settings(settings: Mapping[str, Any] | None, refs: WorkflowRefs) -> dict[str, Any]:
    result: dict[str, Any] = {**_SETTINGS_DEFAULTS, **_clean(settings or {})}
    refs.resolve_settings(result)
    return result


def _positions(nodes: Iterable[Mapping[str, Any]]) -> dict[str, tuple[float, float]]:
    """Canvas position (y, x) of every node that has a valid `[x, y]` position."""
    positions: dict[str, tuple[float, float]] = {}
    for node in nodes:
        position = node.get("position")
        if isinstance(position, list | tuple) and len(position) == 2:
            x, y = position
            if _is_real(x) and _is_real(y):
                positions[node["name"]] = (float(y), float(x))
    return positions


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _normalize_connections(
    connections: Mapping[str, Any], positions: Mapping[str, tuple[float, float]]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for source, by_type in connections.items():
        kept = {}
        for connection_type, outputs in by_type.items():
            normalized = _normalize_outputs(outputs, positions)
            if normalized:
                kept[connection_type] = normalized
        if kept:
            result[source] = kept
    return result


def _normalize_outputs(
    outputs: list[Any], positions: Mapping[str, tuple[float, float]]
) -> list[list[Any]]:
    result = [
        _order_targets([_clean_object(t) for t in targets or ()], positions) for targets in outputs
    ]
    while result and not result[-1]:
        result.pop()
    return result


def _order_targets(
    targets: list[dict[str, Any]], positions: Mapping[str, tuple[float, float]]
) -> list[dict[str, Any]]:
    if len(targets) < 2:
        return targets
    names = [target["node"] for target in targets]
    same_node_twice = len(set(names)) < len(names)  # only then can the connection decide

    def canvas_order(target: dict[str, Any]) -> tuple[Any, ...]:
        position = positions.get(target["node"])
        if position is None:
            return (1,)  # unknown position: after the positioned ones, in the given order
        tiebreak = reference_canonical_json(target) if same_node_twice else b""
        return (0, *position, target["node"], tiebreak)

    return sorted(targets, key=canvas_order)


def reference_content_hash(
    workflow: Mapping[str, Any], refs: Mapping[str, str] | None = None
) -> str:
    """The content hash of one parsed workflow, as the pipeline before issue 19 made it."""
    document = normalize(workflow, refs).document
    return "v1:" + hashlib.sha256(reference_canonical_json(document)).hexdigest()


def reference_hash_documents(raws: list[bytes]) -> list[str]:
    """Raw JSON bytes to content hashes, as the pipeline before issue 19 made them."""
    return [reference_content_hash(parse_json(raw)) for raw in raws]  # type: ignore[arg-type]
