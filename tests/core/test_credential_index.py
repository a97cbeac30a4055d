"""Learning an environment's credentials from its workflows (core/credential_index.py)."""

from typing import Any

from canonflow.core.credential_index import CredentialIndex, credential_index, index_of_listing

SLACK = ("slackApi", "Sales Slack bot")


def uses(*references: tuple[str, str, str]) -> dict[str, Any]:
    """A workflow with one node per (type, name, id) reference."""
    nodes = [
        {"name": f"N{i}", "type": "t", "credentials": {type_: {"id": id_, "name": name}}}
        for i, (type_, name, id_) in enumerate(references)
    ]
    return {"nodes": nodes}


def test_credentials_are_learnt_from_the_workflows_references() -> None:
    index = credential_index([uses((*SLACK, "c1"), ("httpBasicAuth", "Shared", "h1"))])
    assert index == CredentialIndex(ids={SLACK: "c1", ("httpBasicAuth", "Shared"): "h1"})
    assert index.find(*SLACK) == "c1"
    assert index.find(SLACK[0], "Other") is None
    assert index.find("slackOAuth2Api", SLACK[1]) is None  # the type is part of the key


def test_one_name_with_two_ids_is_ambiguous() -> None:
    index = credential_index([uses((*SLACK, "c2")), uses((*SLACK, "c1"), (*SLACK, "c2"))])
    assert index.ambiguous == {SLACK: ("c1", "c2")}
    assert index.find(*SLACK) is None and not index.ids


def test_a_binding_overrides_and_settles() -> None:
    learnt = [uses((*SLACK, "c1"), (*SLACK, "c2"), ("b", "B", "b1"))]
    index = credential_index(learnt, [(*SLACK, "c9"), ("b", "B", "b7"), ("new", "N", "n1")])
    assert index.ids == {SLACK: "c9", ("b", "B"): "b7", ("new", "N"): "n1"}
    assert not index.ambiguous


def test_conflicting_bindings_are_ambiguous() -> None:
    index = credential_index([uses((*SLACK, "c1"))], [(*SLACK, "1"), (*SLACK, "2"), (*SLACK, "1")])
    assert index.ambiguous == {SLACK: ("1", "2")} and not index.ids


def test_malformed_references_are_skipped() -> None:
    workflows: list[dict[str, Any]] = [
        {},
        {"nodes": "not a list"},
        {"nodes": [None, {"credentials": "x"}, {"credentials": {"a": "legacy", "b": {"id": ""}}}]},
        {"nodes": [{"credentials": {"c": {"id": 5, "name": "C"}, "d": {"id": "d1"}}}]},
        uses(("b", "B", "ok")),
    ]
    assert credential_index(workflows) == CredentialIndex(ids={("b", "B"): "ok"})


def test_a_2x_listing_knows_unused_credentials_and_bindings_still_override() -> None:
    listed = [
        {"id": "c1", "name": "Fresh", "type": "httpBasicAuth"},
        {"id": "c2", "name": "Twin", "type": "slackApi"},
        {"id": "c3", "name": "Twin", "type": "slackApi"},
        {"id": "c4", "name": "Twin", "type": "httpBasicAuth"},
        {"id": 5, "name": "Bad id", "type": "slackApi"},
        {"name": "No id", "type": "slackApi"},
    ]
    index = index_of_listing(listed)
    assert index.find("httpBasicAuth", "Fresh") == "c1"
    assert index.find("httpBasicAuth", "Twin") == "c4"  # a name is per type
    assert index.ambiguous == {("slackApi", "Twin"): ("c2", "c3")}
    assert index.find("slackApi", "Bad id") is None and index.find("slackApi", "No id") is None
    settled = index_of_listing(
        listed, [("slackApi", "Twin", "c3"), ("httpBasicAuth", "Fresh", "b")]
    )
    assert settled.find("slackApi", "Twin") == "c3" and settled.ambiguous == {}
    assert settled.find("httpBasicAuth", "Fresh") == "b"
