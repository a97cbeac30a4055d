"""What an n8n environment runs (core.publication): the published version while a draft is
pending on n8n 2.x, else the workflow as listed; archived workflows."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from canonflow.core.definitions import (
    hash_listed_documents,
    hash_listed_workflows,
    mentions_workflows,
)
from canonflow.core.git_layout import file_document
from canonflow.core.hashing import body_hash, content_hash
from canonflow.core.publication import (
    draft_form,
    draft_pending,
    is_archived,
    published_form,
    running_form,
)

NODES_V1 = [
    {"id": "a", "name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
     "position": [0, 0], "parameters": {}},
    {"id": "b", "name": "Set", "type": "n8n-nodes-base.set", "typeVersion": 3,
     "position": [200, 0], "parameters": {"value": 1}},
]  # fmt: skip
CONNECTIONS = {"Start": {"main": [[{"node": "Set", "type": "main", "index": 0}]]}}


def listed(**overrides: Any) -> dict[str, Any]:
    """An n8n 2.x listing item, active, its draft equal to what it runs."""
    item: dict[str, Any] = {
        "id": "w1",
        "name": "Orders",
        "active": True,
        "isArchived": False,
        "versionId": "v1",
        "activeVersionId": "v1",
        "nodes": copy.deepcopy(NODES_V1),
        "connections": copy.deepcopy(CONNECTIONS),
        "settings": {"executionOrder": "v1"},
        "nodeGroups": [],
        "activeVersion": {
            "versionId": "v1",
            "nodes": copy.deepcopy(NODES_V1),
            "connections": copy.deepcopy(CONNECTIONS),
            "name": None,
            "autosaved": False,
        },
    }
    return item | overrides


def with_draft() -> dict[str, Any]:
    """A draft saved without publishing: the top level changed, activeVersion did not."""
    item = listed(versionId="v2")
    item["nodes"][1]["parameters"] = {"value": 2}
    return item


def test_no_draft_when_the_published_version_is_the_draft() -> None:
    item = listed()
    assert not draft_pending(item)
    assert published_form(item) is None
    assert running_form(item) is item


@pytest.mark.parametrize(
    "overrides",
    [
        {"active": False, "activeVersionId": None, "activeVersion": None},  # inactive
        {"active": False},  # inactive, stale fields
        {"activeVersionId": None},
        {"activeVersionId": ""},
        {"activeVersion": None},
        {"activeVersion": {"versionId": "v1"}},  # no body: nothing to read what runs from
    ],
)
def test_no_draft_pending_without_a_published_version_other_than_the_draft(
    overrides: dict[str, Any],
) -> None:
    item = with_draft() | overrides
    assert not draft_pending(item)
    assert running_form(item) is item


def test_a_1x_item_without_publication_fields_is_its_body() -> None:
    item = {key: value for key, value in listed().items() if key not in ("activeVersion",)}
    item.pop("activeVersionId")
    assert running_form(item) is item
    assert content_hash(item) == content_hash(listed())


def test_a_pending_draft_runs_the_published_nodes_with_top_level_name_and_settings() -> None:
    item = with_draft() | {"name": "Orders (renamed)", "settings": {"timezone": "UTC"}}
    assert draft_pending(item)
    runs = running_form(item)
    assert runs["nodes"] == NODES_V1
    assert runs["connections"] == CONNECTIONS
    assert runs["name"] == "Orders (renamed)"
    assert runs["settings"] == {"timezone": "UTC"}
    assert "activeVersion" not in runs
    assert runs["versionId"] == "v1"
    assert draft_form(item)["nodes"][1]["parameters"] == {"value": 2}
    assert not draft_pending(runs) and not draft_pending(draft_form(item))


def test_hash_definition_and_body_are_of_what_runs() -> None:
    item = with_draft()
    published = listed()
    assert content_hash(item) == content_hash(published)
    assert content_hash(draft_form(item)) != content_hash(published)
    assert body_hash(item) == body_hash(published)
    assert file_document(item) == file_document(published)


def test_listed_hashes_keep_the_draft_hash_beside_the_published_one() -> None:
    items = [listed(), with_draft(), listed(active=False, activeVersionId=None)]
    results = hash_listed_workflows(items, {}, define=True)
    assert [r[3] for r in results] == [None, content_hash(draft_form(items[1])), None]
    assert results[1][0] == content_hash(listed())
    assert results[1][2] == orjson.dumps(file_document(listed()))
    raws = [orjson.dumps(item) for item in items] + [b"not json"]
    from_documents = hash_listed_documents(raws, {}, define=True)
    assert from_documents[:3] == results
    assert from_documents[3][0] is None and from_documents[3][1]


def test_a_draft_that_differs_only_in_what_the_hash_ignores_keeps_no_draft_hash() -> None:
    item = listed(versionId="v2")
    item["nodes"][1]["position"] = [400, 300]  # moved on the canvas only
    [(digest, _problem, _document, draft)] = hash_listed_workflows([item], {}, define=False)
    assert draft_pending(item)
    assert digest == content_hash(listed())
    assert draft is None


@pytest.mark.parametrize(("value", "archived"), [(True, True), (False, False), (None, False)])
def test_archived_is_only_an_explicit_true(value: object, archived: bool) -> None:
    assert is_archived(listed(isArchived=value)) is archived
    assert is_archived({"id": "x"}) is False


def test_a_reference_in_either_body_makes_the_hash_depend_on_the_map() -> None:
    """A published version that calls a sub-workflow while the draft no longer does (or the
    other way round) still depends on the id → slug map: both bodies are hashed with it."""
    call = {
        "id": "c",
        "name": "Call",
        "type": "n8n-nodes-base.executeWorkflow",
        "typeVersion": 1.2,
        "position": [400, 0],
        "parameters": {"workflowId": "sub1"},
    }
    assert not mentions_workflows(listed())
    published_calls = with_draft()
    published_calls["activeVersion"]["nodes"].append(call)
    assert draft_pending(published_calls) and mentions_workflows(published_calls)
    draft_calls = with_draft()
    draft_calls["nodes"].append(call)
    assert mentions_workflows(draft_calls)
    refs = {"sub1": "sub-flow"}
    [(runs, _p, _d, draft)] = hash_listed_workflows([published_calls], refs, define=False)
    assert runs == content_hash(published_form(published_calls) or {}, refs)
    assert runs != content_hash(published_form(published_calls) or {}, {})
    assert draft == content_hash(draft_form(published_calls), refs)
