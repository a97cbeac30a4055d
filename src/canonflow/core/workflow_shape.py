"""Parsing and shape validation of n8n workflow JSON.

Only the structure the content hash relies on is checked: an object with a `nodes` list of
objects, each with a string `name` (unique) and `type`, and a `connections` object whose
entries have n8n's shape. Everything else is left to n8n.
"""

from collections.abc import Mapping
from typing import Any, TypeGuard

import orjson

_BYTE_ORDER_MARK = "\ufeff"
_OPTIONAL_NODE_OBJECTS = ("parameters", "credentials")


class InvalidWorkflow(ValueError):
    """The input is not JSON, or not an n8n workflow; the message says why in one line."""


def parse_workflow(raw: bytes | str) -> dict[str, Any]:
    """Parse the JSON text of one n8n workflow and validate its shape.

    A leading byte order mark is ignored. NaN, Infinity and numbers that overflow a double
    are rejected; integers beyond 64 bits are read as floats, as n8n (JavaScript) reads them.
    Raises InvalidWorkflow("not valid JSON: ...") or InvalidWorkflow("not an n8n workflow: ...").
    """
    return validate_workflow(parse_json(raw))


def parse_json(raw: bytes | str) -> object:
    """Only the JSON part of `parse_workflow`, for callers that `normalize` next (which
    validates the shape itself): raises InvalidWorkflow("not valid JSON: ...")."""
    text = _without_byte_order_mark(raw)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidWorkflow(_json_error_message(text, exc)) from exc


def validate_workflow(obj: object) -> dict[str, Any]:
    """Check that an already-parsed value has the shape of an n8n workflow and return it.

    Raises InvalidWorkflow("not an n8n workflow: ...") naming the first problem found.
    """
    if not isinstance(obj, Mapping):
        raise _not_a_workflow(f"expected a JSON object, got {_json_type(obj)}")
    workflow: dict[str, Any] = obj if isinstance(obj, dict) else dict(obj)
    _check_optional(workflow, "name", str, "a string")
    _check_optional(workflow, "settings", Mapping, "an object")
    _check_nodes(workflow.get("nodes"))
    _check_connections(workflow.get("connections"))
    return workflow


def _without_byte_order_mark(raw: bytes | str) -> bytes | str:
    if isinstance(raw, str):
        return raw.removeprefix(_BYTE_ORDER_MARK)
    return raw.removeprefix(_BYTE_ORDER_MARK.encode("utf-8"))


def _json_error_message(text: bytes | str, exc: orjson.JSONDecodeError) -> str:
    if isinstance(text, bytes):
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            return f"not valid JSON: not UTF-8 text (bad byte at offset {decode_error.start})"
    return f"not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"


def _check_optional(obj: Mapping[str, Any], key: str, kind: type, described: str) -> None:
    value = obj.get(key)
    if value is not None and not isinstance(value, kind):
        raise _not_a_workflow(f"'{key}' must be {described}, got {_json_type(value)}")


def _check_nodes(nodes: object) -> None:
    if not isinstance(nodes, list):
        raise _not_a_workflow(_missing_or_wrong("nodes", nodes, "a list"))
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        name = _check_node(index, node)
        if name in seen:
            raise InvalidWorkflow(
                f"unsupported n8n workflow: duplicate node name {name!r} "
                "(node names must be unique)"
            )
        seen.add(name)


def _check_node(index: int, node: object) -> str:
    if not _is_object(node):
        raise _not_a_workflow(f"nodes[{index}] must be an object, got {_json_type(node)}")
    name = node.get("name")
    if not isinstance(name, str):
        raise _not_a_workflow(f"nodes[{index}] has no string 'name'")
    if not isinstance(node.get("type"), str):
        raise _not_a_workflow(f"node {name!r} has no string 'type'")
    for key in _OPTIONAL_NODE_OBJECTS:
        value = node.get(key)
        if value is not None and not _is_object(value):
            raise _not_a_workflow(
                f"node {name!r}: '{key}' must be an object, got {_json_type(value)}"
            )
    return name


def _check_connections(connections: object) -> None:
    if not _is_object(connections):
        raise _not_a_workflow(_missing_or_wrong("connections", connections, "an object"))
    for source, by_type in connections.items():
        if not _is_object(by_type):
            where = f"connections of {source!r}"
            raise _not_a_workflow(f"{where} must be an object, got {_json_type(by_type)}")
        for connection_type, outputs in by_type.items():
            problem = _outputs_problem(outputs)
            if problem is not None:
                where = f"connections of {source!r} ({connection_type!r})"
                raise _not_a_workflow(where + problem)


def _outputs_problem(outputs: object) -> str | None:
    """What is wrong with a list of outputs, after the place it is named (None: nothing)."""
    if not isinstance(outputs, list):
        return f" must be a list, got {_json_type(outputs)}"
    for index, targets in enumerate(outputs):
        if targets is None:
            continue
        if not isinstance(targets, list):
            return f", output {index} must be a list or null"
        for target in targets:
            if not (_is_object(target) and isinstance(target.get("node"), str)):
                return f", output {index} must hold objects with a string 'node'"
    return None


def _is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)


def _missing_or_wrong(key: str, value: object, described: str) -> str:
    if value is None:
        return f"no '{key}' ({described})"
    return f"'{key}' must be {described}, got {_json_type(value)}"


def _not_a_workflow(detail: str) -> InvalidWorkflow:
    return InvalidWorkflow(f"not an n8n workflow: {detail}")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__
