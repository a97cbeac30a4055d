"""Ignore rules, the pure part: grammar, narrowing, applying, fingerprints, the diff."""

import copy
import re
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.diff import diff_workflows
from canonflow.core.diff_types import ChangeKind, ValueChange
from canonflow.core.hashing import hash_normalized
from canonflow.core.ignore_rules import (
    ANY_INDEX,
    IgnoreRule,
    InvalidRulePath,
    RuleKind,
    RulePath,
    applicable,
    apply_ignores,
    fingerprint,
    format_rule_path,
    parse_rule_path,
    rule_for,
    rule_for_node,
)
from canonflow.core.normalize import normalize
from canonflow.core.sync_state import CellHashes, SyncState, derive_cell_state, effective_hashes

HTTP = "n8n-nodes-base.httpRequest"


def workflow(timeout: int | None = 5, tz: str = "UTC", notes: str = "", extra: bool = False) -> Any:
    options = {} if timeout is None else {"timeout": timeout}
    nodes: list[dict[str, Any]] = [
        {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
         "parameters": {}, "position": [0, 0]},
        {"name": "Call", "type": HTTP, "typeVersion": 4, "notes": notes,
         "parameters": {"url": "https://x.test", "options": options}, "position": [200, 0]},
    ]  # fmt: skip
    connections: dict[str, Any] = {
        "Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}
    }
    if extra:
        nodes.append({"name": "Debug", "type": "n8n-nodes-base.noOp", "typeVersion": 1,
                      "parameters": {}, "position": [400, 0]})  # fmt: skip
        connections["Call"] = {"main": [[{"node": "Debug", "type": "main", "index": 0}]]}
    return {"name": "w", "nodes": nodes, "connections": connections, "settings": {"timezone": tz}}


def effective(doc: Any, *paths: str) -> str:
    return hash_normalized(apply_ignores(normalize(doc).document, [IgnoreRule(p) for p in paths]))


# ------------------------------------------------------------------------- grammar

keys = st.text(string.ascii_letters + "_", min_size=1, max_size=6) | st.text(
    min_size=1, max_size=6
).filter(lambda k: k.strip() == k)
segment = keys | st.integers(0, 30) | st.just(ANY_INDEX)
segments = st.tuples(st.lists(segment, max_size=4), keys).map(lambda t: (*t[0], t[1]))
node_types = st.sampled_from([HTTP, "n8n-nodes-base.set", "@n8n/n8n-nodes-langchain.agent"])
rule_paths = st.one_of(
    segments.map(lambda s: RulePath(RuleKind.SETTINGS, s)),
    st.tuples(segments, st.none() | node_types).map(
        lambda t: RulePath(RuleKind.PARAMETER, t[0], node_type=t[1])
    ),
    (st.none() | node_types).map(lambda t: RulePath(RuleKind.NOTES, node_type=t)),
    st.text(min_size=1, max_size=10)
    .filter(lambda n: n.strip() == n)
    .map(lambda n: RulePath(RuleKind.NODE, node_name=n)),
)


@given(rule_paths)
def test_grammar_round_trip(path: RulePath) -> None:
    text = format_rule_path(path)
    assert parse_rule_path(text) == path
    assert format_rule_path(parse_rule_path(text)) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "non-empty"),
        ("foo", "none of"),
        ("settings.", "expected a key"),
        ("x:", "no parameter path"),
        ("x:a[0]", "ends with an object key"),
        ("x:a..b", "expected a key"),
        ("x:a[", "opens a list index"),
        ("node:", "node name"),
        (" settings.a", "spaces"),
        ("a b:c", "not a node type"),
    ],
)
def test_bad_paths_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidRulePath, match=re.escape(reason)):
        parse_rule_path(text)


def test_lenient_keys_read_in_the_diff_notation() -> None:
    assert str(parse_rule_path("x:headers.Content-Type")) == 'x:headers["Content-Type"]'


# ------------------------------------------------------------------------ narrowing


def test_applicable_narrows_by_glob_and_environment() -> None:
    rules = [
        IgnoreRule("settings.timezone"),
        IgnoreRule("notes", workflows=("billing-*",)),
        IgnoreRule("node:Debug", environments=("env-1",)),
    ]
    assert [r.path for r in applicable(rules, "orders", "env-2")] == ["settings.timezone"]
    assert len(applicable(rules, "billing-eu", "env-1")) == 3
    assert [r.path for r in applicable(rules, "orders", "env-1")] == [
        "settings.timezone",
        "node:Debug",
    ]


def test_fingerprint_is_stable_and_none_without_rules() -> None:
    a, b = IgnoreRule("settings.timezone"), IgnoreRule("notes")
    assert fingerprint([]) is None
    assert fingerprint([a, b]) == fingerprint([b, a, a])
    assert fingerprint([a]) != fingerprint([b])


# ---------------------------------------------------------------------------- apply


def test_rules_hide_what_they_name_only() -> None:
    base = workflow()
    assert effective(workflow(timeout=30), f"{HTTP}:options.timeout") == effective(
        base, f"{HTTP}:options.timeout"
    )
    assert effective(workflow(timeout=None), f"{HTTP}:options.timeout") == effective(
        base, f"{HTTP}:options.timeout"
    )  # options left empty are dropped
    assert effective(workflow(timeout=30), "*:options.timeout") == effective(
        base, "*:options.timeout"
    )
    assert effective(workflow(timeout=30), "n8n-nodes-base.set:options.timeout") != effective(
        base, "n8n-nodes-base.set:options.timeout"
    )
    assert effective(workflow(tz="Europe/Paris"), "settings.timezone") == effective(
        base, "settings.timezone"
    )
    assert effective(workflow(notes="hi"), "notes") == effective(base, "notes")
    assert effective(workflow(notes="hi"), f"{HTTP}:@notes") == effective(base, f"{HTTP}:@notes")
    assert effective(workflow(extra=True), "node:Debug") == effective(base, "node:Debug")
    assert effective(workflow(extra=True), "node:Other") != effective(base, "node:Other")


def test_list_indices() -> None:
    def set_node(value: str) -> Any:
        doc = workflow()
        doc["nodes"][1]["parameters"]["items"] = [{"value": value, "keep": 1}, {"value": "z"}]
        return doc

    for rule in ("*:items[0].value", "*:items[*].value"):
        assert effective(set_node("a"), rule) == effective(set_node("b"), rule)
    assert effective(set_node("a"), "*:items[1].value") != effective(
        set_node("b"), "*:items[1].value"
    )


documents = st.builds(
    workflow,
    timeout=st.none() | st.integers(0, 100),
    tz=st.sampled_from(["UTC", "Europe/Paris"]),
    notes=st.sampled_from(["", "a"]),
    extra=st.booleans(),
)
some_rules = st.lists(rule_paths.map(lambda p: IgnoreRule(format_rule_path(p))), max_size=4)


@given(documents, some_rules)
def test_apply_ignores_is_idempotent(doc: Any, rules: list[IgnoreRule]) -> None:
    normalized = normalize(doc).document
    before = copy.deepcopy(normalized)
    once = apply_ignores(normalized, rules)
    assert apply_ignores(once, rules) == once
    assert normalized == before  # the input is left alone


@given(documents, st.text(string.ascii_letters, min_size=1, max_size=8))
def test_a_rule_that_matches_nothing_leaves_the_hash(doc: Any, key: str) -> None:
    normalized = normalize(doc).document
    rules = [IgnoreRule(f"settings.zz{key}"), IgnoreRule(f"x.nothing:{key}"), IgnoreRule("node:?")]
    assert hash_normalized(apply_ignores(normalized, rules)) == hash_normalized(normalized)


# ------------------------------------------------------------------------- the diff


def test_rule_for_diff_changes() -> None:
    rules = [IgnoreRule(f"{HTTP}:options.timeout"), IgnoreRule("settings.timezone")]
    diff = diff_workflows(workflow(), workflow(timeout=30, tz="Europe/Paris"))
    (setting,) = diff.settings
    assert rule_for(setting, rules) is rules[1]
    (node,) = diff.nodes_changed
    (change,) = node.changes
    assert rule_for(change, rules, node_type=HTTP, node_name="Call") is rules[0]
    assert rule_for(change, rules, node_type="other", node_name="Call") is None
    added = ValueChange(("parameters", "options"), ChangeKind.ADDED, new={"timeout": 5})
    assert rule_for(added, rules, node_type=HTTP, node_name="Call") is rules[0]
    mixed = ValueChange(("parameters", "options"), ChangeKind.ADDED, new={"timeout": 5, "x": 1})
    assert rule_for(mixed, rules, node_type=HTTP, node_name="Call") is None
    assert rule_for_node("Debug", [IgnoreRule("node:Debug")]) is not None


# ------------------------------------------------------------------ derived state


def test_effective_hashes_follow_the_rules() -> None:
    raw = CellHashes("e", "g", "g")
    assert effective_hashes(raw) == ("e", "g", "g")
    assert derive_cell_state(raw) is SyncState.DRIFT
    same = CellHashes("e", "g", "g", fingerprint="f", env_ignored="x", git_ignored="x")
    assert derive_cell_state(same) is SyncState.IN_SYNC
    assert derive_cell_state(same, draft_hash="d") is SyncState.DRAFT_PENDING
    with_base = CellHashes("e", "g", "g", "f", "x", "y", "y")
    assert derive_cell_state(with_base) is SyncState.DRIFT
    no_base = CellHashes("e", "g", "b", "f", "x", "y", None)
    assert effective_hashes(no_base) == ("e", "g", "b")
    stale_rule_free = CellHashes("e", "g", "g", None, "x", "x", "x")
    assert derive_cell_state(stale_rule_free) is SyncState.DRIFT
