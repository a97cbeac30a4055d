"""The hashing pipeline against the one before issue 19 (`hash_reference`), on generated
n8n-shaped workflows: unicode, floats (integral, tiny, huge), big integers, nulls, nested
parameters, resource locators, credentials, connections with positions."""

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.hash_reference import normalize as reference_normalize
from tests.core.hash_reference import reference_content_hash

from canonflow.core.hashing import body_hash, content_hash
from canonflow.core.normalize import normalize

EXAMPLES = settings(max_examples=100, deadline=None, database=None)

numbers = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False)
    | st.sampled_from([2.0, -0.0, 1e15, 1e16, 2**53, 2**53 + 1, 1e-7, 0.00001, 3.4])
)
scalars = st.none() | st.booleans() | numbers | st.text(max_size=12)
locators = st.fixed_dictionaries(
    {"__rl": st.booleans(), "value": st.text(max_size=8), "mode": st.sampled_from(["list", "id"])},
    optional={"cachedResultName": st.text(max_size=8), "cachedResultUrl": st.text(max_size=8)},
)
values = st.recursive(
    scalars | locators,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
positions = st.one_of(st.none(), st.tuples(numbers, numbers).map(list), st.just([0, float("nan")]))


@st.composite
def workflows(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=6, unique=True))
    nodes = [draw(_node(name)) for name in names]
    connections = {
        source: {"main": [draw(_targets(names)) for _ in range(draw(st.integers(0, 3)))]}
        for source in draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True))
    }
    settings_ = draw(st.dictionaries(st.text(max_size=6), values, max_size=3))
    return {"id": "x", "name": draw(st.text(max_size=8)), "nodes": nodes,
            "connections": connections, "settings": settings_, "pinData": None}  # fmt: skip


@st.composite
def _node(draw: st.DrawFn, name: str) -> dict[str, Any]:
    node: dict[str, Any] = {
        "name": name,
        "type": draw(st.sampled_from(["n8n-nodes-base.set", "n8n-nodes-base.executeWorkflow"])),
        "typeVersion": draw(numbers),
        "parameters": draw(st.dictionaries(st.text(max_size=6), values, max_size=5)),
        "position": draw(positions),
    }
    for field in ("disabled", "notes", "onError", "retryOnFail", "maxTries"):
        if draw(st.booleans()):
            node[field] = draw(scalars)
    if draw(st.booleans()):
        node["credentials"] = {"api": {"id": "1", "name": draw(st.text(max_size=5))}}
    return node


@st.composite
def _targets(draw: st.DrawFn, names: list[str]) -> list[dict[str, Any]] | None:
    if draw(st.integers(0, 5)) == 0:
        return None
    count = draw(st.integers(0, 3))
    return [
        {"node": draw(st.sampled_from(names)), "type": "main", "index": draw(numbers | st.none())}
        for _ in range(count)
    ]


def _outcome(hash_: Any, workflow: dict[str, Any], refs: dict[str, str] | None) -> object:
    try:
        return hash_(workflow, refs)
    except (TypeError, ValueError) as exc:
        return type(exc)


@EXAMPLES
@given(workflows(), st.none() | st.just({"x": "slug-x"}))
def test_the_hash_equals_the_reference(workflow: dict[str, Any], refs: Any) -> None:
    assert _outcome(content_hash, workflow, refs) == _outcome(
        reference_content_hash, workflow, refs
    )


@EXAMPLES
@given(workflows())
def test_the_normalized_document_equals_the_reference(workflow: dict[str, Any]) -> None:
    ours, reference = normalize(workflow), reference_normalize(workflow)
    assert (ours.document, ours.unresolved_refs) == (reference.document, reference.unresolved_refs)


@EXAMPLES
@given(workflows())
def test_the_body_hash_is_the_reference_without_the_name(workflow: dict[str, Any]) -> None:
    renamed = {**workflow, "name": "another"}
    assert _outcome(body_hash, workflow, None) == _outcome(body_hash, renamed, None)


def test_the_bench_workflows_hash_as_the_reference() -> None:
    from bench._workflows import listed_workflow

    rng = random.Random(19)
    for nodes in (5, 30, 200):
        workflow = listed_workflow(rng, nodes, 500)
        assert content_hash(workflow) == reference_content_hash(workflow)
