"""Templates, pure: parsing, placeholders, parameter checks and text substitution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.templates import (
    MAX_VALUE_LENGTH,
    MAX_WORKFLOW_NAME,
    BadParameters,
    InvalidTemplate,
    Parameter,
    instantiate,
    location,
    parse_template,
    placeholders,
    resolve,
    substitute_text,
    templates_dir,
    value_problem,
)


def template_document(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "Alert {{ channel }}",
        "nodes": [
            {
                "id": "a1",
                "name": "Webhook",
                "type": "n8n-nodes-base.webhook",
                "typeVersion": 2,
                "position": [0, 0],
                "webhookId": "abc",
                "parameters": {"path": "alert-{{channel}}", "httpMethod": "POST"},
            },
            {
                "id": "a2",
                "name": "Set",
                "type": "n8n-nodes-base.set",
                "typeVersion": 3.4,
                "position": [200, 0],
                "parameters": {
                    "assignments": {
                        "assignments": [
                            {
                                "id": "x",
                                "name": "text",
                                "type": "string",
                                "value": "={{ $json.body }} to {{ channel }} at {{ level }}",
                            }
                        ]
                    }
                },
            },
        ],
        "connections": {"Webhook": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
        "canonflow": {
            "description": "Post alerts to a channel",
            "parameters": {
                "channel": {"description": "Where to post"},
                "level": {"description": "Severity", "default": "warning"},
            },
        },
    }
    document.update(overrides)
    return document


def parsed(**overrides: Any) -> Any:
    return parse_template(json.dumps(template_document(**overrides)), slug="alert")


# --- parsing ---------------------------------------------------------------------------


def test_a_template_is_parsed_with_its_parameters_and_without_the_canonflow_key() -> None:
    template = parsed()
    assert template.slug == "alert"
    assert template.name == "Alert {{ channel }}"
    assert template.description == "Post alerts to a channel"
    assert template.parameters == (
        Parameter("channel", "Where to post", None),
        Parameter("level", "Severity", "warning"),
    )
    assert [p.required for p in template.parameters] == [True, False]
    assert "canonflow" not in template.definition
    assert template.definition["nodes"][0]["parameters"]["path"] == "alert-{{channel}}"


def test_the_description_falls_back_to_the_workflows_own() -> None:
    document = template_document(description="the workflow's description")
    del document["canonflow"]["description"]
    template = parse_template(json.dumps(document), slug="alert")
    assert template.description == "the workflow's description"


def test_placeholders_are_found_with_their_location_and_n8n_expressions_are_not() -> None:
    found = sorted((name, location(path)) for name, path in placeholders(parsed().definition))
    assert found == [
        ("channel", "name"),
        ("channel", "nodes[0].parameters.path"),
        ("channel", "nodes[1].parameters.assignments.assignments[0].value"),
        ("level", "nodes[1].parameters.assignments.assignments[0].value"),
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "expected a JSON object"),
        (json.dumps({"name": "x", "nodes": [], "connections": {}}), "no 'canonflow' object"),
        (
            json.dumps({"name": "x", "nodes": "no", "connections": {}, "canonflow": {}}),
            "not an n8n workflow: 'nodes' must be a list",
        ),
        (
            json.dumps({"name": " ", "nodes": [], "connections": {}, "canonflow": {}}),
            "no 'name'",
        ),
        (
            json.dumps({"name": "x" * 501, "nodes": [], "connections": {}, "canonflow": {}}),
            "its name is longer than 500 characters",
        ),
        (
            json.dumps({"name": "x", "nodes": [], "connections": {}, "canonflow": {}, "a": "\x00"}),
            "a NUL character at a",
        ),
    ],
)
def test_a_file_that_is_not_a_template_says_why(raw: str, message: str) -> None:
    with pytest.raises(InvalidTemplate, match=message):
        parse_template(raw, slug="x")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"parameters": []}, "canonflow.parameters must be an object"),
        ({"parameters": {"bad-name": {}}}, "'bad-name' is not an identifier"),
        ({"parameters": {"x": "text"}}, "canonflow.parameters.x must be an object"),
        ({"parameters": {"x": {"defualt": "1"}}}, "unknown key 'defualt'"),
        ({"parameters": {"x": {"default": 5}}}, "default must be a string"),
        ({"parameters": {"x": {"description": 5}}}, "description must be a string"),
        ({"parameters": {"x": {"default": "a\x07b"}}}, "default holds a control character"),
        ({"description": 3, "parameters": {}}, "canonflow.description must be a string"),
    ],
)
def test_a_bad_parameter_declaration_is_named(block: dict[str, Any], message: str) -> None:
    document = {"name": "x", "nodes": [], "connections": {}, "canonflow": block}
    with pytest.raises(InvalidTemplate, match=message):
        parse_template(json.dumps(document), slug="x")


def test_an_undeclared_placeholder_makes_the_template_invalid() -> None:
    document = template_document()
    del document["canonflow"]["parameters"]["level"]
    with pytest.raises(InvalidTemplate) as raised:
        parse_template(json.dumps(document), slug="alert")
    assert str(raised.value) == (
        "placeholder {{ level }} at nodes[1].parameters.assignments.assignments[0].value "
        "is not declared in canonflow.parameters"
    )


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["nodes"][0].update(name="Hook {{ channel }}"), "nodes[0].name"),
        (lambda d: d["nodes"][0].update(notes="{{ channel }}"), "nodes[0].notes"),
        (lambda d: d["settings"].update(timezone="{{ channel }}"), "settings.timezone"),
        (
            lambda d: d["nodes"][0]["parameters"].update({"{{ channel }}": "k"}),
            "nodes[0].parameters.{{ channel }}.<key>",
        ),
    ],
)
def test_a_placeholder_outside_the_name_and_node_parameters_is_refused(
    change: Any, where: str
) -> None:
    document = template_document()
    change(document)
    with pytest.raises(InvalidTemplate, match="placeholders go only in") as raised:
        parse_template(json.dumps(document), slug="alert")
    assert f"at {where}:" in str(raised.value)


def test_templates_live_beside_the_workflows() -> None:
    assert templates_dir("workflows") == "workflows/_templates"
    assert templates_dir("/a/b/") == "a/b/_templates"
    assert templates_dir("") == "_templates"


# --- parameters ------------------------------------------------------------------------


def test_defaults_fill_what_is_not_given() -> None:
    assert resolve(parsed(), {"channel": "ops"}) == {"channel": "ops", "level": "warning"}
    assert resolve(parsed(), {"channel": "ops", "level": "page"})["level"] == "page"


def test_every_parameter_problem_is_reported_at_once() -> None:
    with pytest.raises(BadParameters) as raised:
        resolve(parsed(), {"chanel": "ops", "colour": "red"})
    assert raised.value.problems == [
        "parameter 'chanel' is not declared by template 'alert' (it declares: channel, level)",
        "parameter 'colour' is not declared by template 'alert' (it declares: channel, level)",
        "parameter 'channel' is missing and has no default",
    ]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("x" * (MAX_VALUE_LENGTH + 1), f"is longer than {MAX_VALUE_LENGTH} characters"),
        ("a\ud800b", "is not valid Unicode text"),
        ("nul\x00", "holds a control character"),
        ("bell\x07", "holds a control character"),
    ],
)
def test_unusable_values_are_refused(value: str, problem: str) -> None:
    with pytest.raises(BadParameters, match=problem):
        resolve(parsed(), {"channel": value})


def test_tab_and_newlines_are_fine() -> None:
    assert value_problem("a\tb\nc\r\n") is None


# --- substitution ----------------------------------------------------------------------


def test_instantiating_substitutes_the_name_and_node_parameters_only() -> None:
    template = parsed()
    instance = instantiate(template, {"channel": "ops"})
    document = orjson.loads(instance.data)
    assert document == instance.document
    assert instance.name == document["name"] == "Alert ops"
    assert document["nodes"][0]["parameters"]["path"] == "alert-ops"
    value = document["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"]
    assert value == "={{ $json.body }} to ops at warning"
    assert "canonflow" not in document
    assert "id" not in document["nodes"][0] and "webhookId" not in document["nodes"][0]
    assert instance.content_hash.startswith("v1:")
    assert template.definition["name"] == "Alert {{ channel }}"  # the template is unchanged


def test_a_value_that_looks_like_a_placeholder_is_not_substituted_again() -> None:
    assert substitute_text("{{ a }}-{{ b }}", {"a": "{{ b }}", "b": "B"}) == "{{ b }}-B"


def test_a_value_that_looks_like_json_stays_text() -> None:
    hostile = '", "injected": {"x": 1}, "y": "'
    document = orjson.loads(instantiate(parsed(), {"channel": hostile}).data)
    assert document["nodes"][0]["parameters"] == {"path": "alert-" + hostile, "httpMethod": "POST"}
    assert "injected" not in document


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("{{ channel }}", "its name is empty"),
        ("Alert {{ channel }}", f"n8n allows at most {MAX_WORKFLOW_NAME}"),
    ],
)
def test_a_result_that_is_not_a_valid_workflow_is_refused(name: str, message: str) -> None:
    value = "" if "empty" in message else "x" * MAX_WORKFLOW_NAME
    template = parsed(name=name)
    with pytest.raises(BadParameters, match=message) as raised:
        instantiate(template, {"channel": value})
    assert raised.value.problems[0].startswith("the result is not a valid workflow")


@given(st.text(max_size=200))
def test_any_text_value_round_trips_through_the_file(value: str) -> None:
    template = parsed()
    problem = value_problem(value)
    if problem is not None:
        with pytest.raises(BadParameters):
            instantiate(template, {"channel": value, "level": "x"})
        return
    path = orjson.loads(instantiate(template, {"channel": value, "level": "x"}).data)["nodes"][0][
        "parameters"
    ]["path"]
    assert path == "alert-" + value


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=60))
def test_any_printable_value_is_accepted_and_read_back_exactly(value: str) -> None:
    template = parsed(name="Alert")
    document = json.loads(instantiate(template, {"channel": value}).data.decode("utf-8"))
    parameters = document["nodes"][0]["parameters"]
    assert parameters["path"] == "alert-" + value
    assigned = document["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"]
    assert assigned == "={{ $json.body }} to " + value + " at warning"


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=20),
        max_size=5,
    ),
    st.text(alphabet="ab {$.}", max_size=30).filter(lambda t: "}}" not in t),
)
def test_substitution_replaces_exactly_the_declared_placeholders(
    values: dict[str, str], filler: str
) -> None:
    """Text around the placeholders (which never closes one) is kept as it is."""
    text = filler + "".join(f"<{{{{ {name} }}}}>{filler}" for name in values)
    expected = filler + "".join(f"<{value}>{filler}" for value in values.values())
    assert substitute_text(text, values) == expected
    assert substitute_text(text, {}) == text


def test_the_readme_example_is_a_valid_template() -> None:
    """The complete example file of the README's "Templates" section parses and makes a
    workflow (n8n expressions left as they are)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Templates\n", 1)[1]
    example = section.split("```json\n", 1)[1].split("```", 1)[0]
    template = parse_template(example, slug="alert")
    assert [(p.name, p.required) for p in template.parameters] == [
        ("team", True),
        ("level", False),
    ]
    document = orjson.loads(instantiate(template, {"team": "payments", "level": "error"}).data)
    assert document["name"] == "Alert payments"
    nodes = {node["name"]: node for node in document["nodes"]}
    assert nodes["Webhook"]["parameters"]["path"] == "alerts-payments"
    assert nodes["HTTP Request"]["parameters"]["url"] == "https://chat.example.com/hooks/payments"
    value = nodes["Set"]["parameters"]["assignments"]["assignments"][0]["value"]
    assert value == "={{ $json.body.message }} for payments (at least error)"
