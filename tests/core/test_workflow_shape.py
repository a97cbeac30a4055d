"""parse_workflow / validate_workflow: JSON and shape errors read as one clear line."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest

from canonflow.core.workflow_shape import InvalidWorkflow, parse_workflow, validate_workflow

MINIMAL = b'{"name": "w", "nodes": [{"name": "A", "type": "t"}], "connections": {}}'


def test_parses_a_minimal_workflow_from_bytes_and_text() -> None:
    expected = {"name": "w", "nodes": [{"name": "A", "type": "t"}], "connections": {}}
    assert parse_workflow(MINIMAL) == expected
    assert parse_workflow(MINIMAL.decode()) == expected


def test_a_byte_order_mark_is_ignored() -> None:
    assert parse_workflow(b"\xef\xbb\xbf" + MINIMAL)["name"] == "w"
    assert parse_workflow("\ufeff" + MINIMAL.decode())["name"] == "w"


def test_integers_beyond_64_bits_are_read_as_javascript_reads_them() -> None:
    raw = b'{"nodes": [], "connections": {}, "n": 123456789012345678901234567890}'
    assert parse_workflow(raw)["n"] == 1.2345678901234568e29


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "not valid JSON: .* \\(line 1 column 1\\)"),
        (
            b'{"nodes": [],\n "connections": {},}',
            "not valid JSON: .*comma.* \\(line 2 column 19\\)",
        ),
        (b'{"nodes": [NaN], "connections": {}}', "not valid JSON: .* \\(line 1 column 12\\)"),
        (b'{"nodes": [], "connections": {}, "x": 1e400}', "not valid JSON: .*infinity"),
        (b'{"nodes": [], "connections": {}, "x": "\\ud800"}', "not valid JSON: .*surrogate"),
        (b'{"name": "caf\xe9"}', "not valid JSON: not UTF-8 text \\(bad byte at offset 13\\)"),
        ("{'nodes': []}", "not valid JSON: .* \\(line 1 column 2\\)"),
    ],
)
def test_malformed_json_is_reported_with_its_position(raw: bytes | str, message: str) -> None:
    with pytest.raises(InvalidWorkflow, match=f"^{message}"):
        parse_workflow(raw)


def test_json_errors_chain_the_parser_error() -> None:
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(b"[")
    assert isinstance(caught.value.__cause__, ValueError)


def node(name: object = "A", type_: object = "t", **extra: object) -> dict[str, object]:
    return {"name": name, "type": type_, **extra}


def workflow(**fields: object) -> dict[str, object]:
    return {"nodes": [node()], "connections": {}, **fields}


@pytest.mark.parametrize(
    ("obj", "detail"),
    [
        ([], "expected a JSON object, got array"),
        ("x", "expected a JSON object, got string"),
        (None, "expected a JSON object, got null"),
        ({"connections": {}}, "no 'nodes' \\(a list\\)"),
        ({"nodes": {}, "connections": {}}, "'nodes' must be a list, got object"),
        ({"nodes": []}, "no 'connections' \\(an object\\)"),
        ({"nodes": [], "connections": []}, "'connections' must be an object, got array"),
        (workflow(name=3), "'name' must be a string, got number"),
        (workflow(settings=[]), "'settings' must be an object, got array"),
        (workflow(nodes=["A"]), "nodes\\[0\\] must be an object, got string"),
        (workflow(nodes=[node(), node(name=None)]), "nodes\\[1\\] has no string 'name'"),
        (workflow(nodes=[{"type": "t"}]), "nodes\\[0\\] has no string 'name'"),
        (workflow(nodes=[node(type_=1)]), "node 'A' has no string 'type'"),
        (workflow(nodes=[node(parameters=[])]), "node 'A': 'parameters' must be an object"),
        (workflow(nodes=[node(credentials="x")]), "node 'A': 'credentials' must be an object"),
        (workflow(connections={"A": []}), "connections of 'A' must be an object, got array"),
        (
            workflow(connections={"A": {"main": {}}}),
            "connections of 'A' \\('main'\\) must be a list, got object",
        ),
        (
            workflow(connections={"A": {"main": ["B"]}}),
            "connections of 'A' \\('main'\\), output 0 must be a list or null",
        ),
        (
            workflow(connections={"A": {"main": [None, [{"index": 0}]]}}),
            "connections of 'A' \\('main'\\), output 1 must hold objects with a string 'node'",
        ),
    ],
)
def test_json_that_is_not_a_workflow_says_what_is_missing(obj: object, detail: str) -> None:
    with pytest.raises(InvalidWorkflow, match=f"^not an n8n workflow: {detail}"):
        validate_workflow(obj)


def test_duplicate_node_names_are_rejected() -> None:
    duplicated = workflow(nodes=[node("A"), node("B"), node("A")])
    with pytest.raises(InvalidWorkflow, match="duplicate node name 'A'"):
        validate_workflow(duplicated)


def test_shape_errors_come_through_parse_workflow() -> None:
    with pytest.raises(InvalidWorkflow, match=r"^not an n8n workflow: no 'nodes'"):
        parse_workflow(b'{"connections": {}}')


@pytest.mark.parametrize(
    "fine",
    [
        workflow(name=None, settings=None),
        workflow(nodes=[node(parameters=None, credentials=None, position="odd")]),
        workflow(nodes=[], connections={"Gone": {"main": [None, [], [{"node": "Elsewhere"}]]}}),
        workflow(description=42, extra={"anything": [1, 2]}),
    ],
)
def test_what_normalization_can_handle_is_accepted(fine: dict[str, Any]) -> None:
    assert validate_workflow(fine) is fine


def test_any_mapping_is_accepted_and_returned_as_a_dict() -> None:
    proxy: Mapping[str, object] = MappingProxyType(workflow())
    result = validate_workflow(proxy)
    assert type(result) is dict
    assert result == workflow()


def test_invalid_workflow_is_a_value_error() -> None:
    assert issubclass(InvalidWorkflow, ValueError)
