"""Auto-link planning: by exact name, then by content hash, only when unambiguous."""

from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.autolink import (
    Candidate,
    Link,
    LinkReason,
    UnlinkedReason,
    plan_auto_links,
)


def wf(id: str, name: str | None, h: str | None = None) -> Candidate:
    return Candidate(id=id, name=name, content_hash=h)


def test_links_by_exact_name() -> None:
    plan = plan_auto_links([wf("w1", "Billing", "h1")], [wf("c1", "Billing", "other")])
    assert plan.links == (Link("w1", "c1", LinkReason.NAME),)
    assert plan.unlinked == {}


def test_name_is_case_sensitive_and_exact() -> None:
    plan = plan_auto_links([wf("w1", "billing")], [wf("c1", "Billing")])
    assert plan.links == ()
    assert plan.unlinked == {"w1": UnlinkedReason.NO_MATCH}


def test_links_by_hash_when_names_differ() -> None:
    plan = plan_auto_links([wf("w1", "Billing (copy)", "h1")], [wf("c1", "Billing", "h1")])
    assert plan.links == (Link("w1", "c1", LinkReason.CONTENT_HASH),)


def test_two_workflows_with_one_name_are_ambiguous() -> None:
    plan = plan_auto_links([wf("w1", "X", "a"), wf("w2", "X", "b")], [wf("c1", "X", "c")])
    assert plan.links == ()
    assert plan.unlinked == {
        "w1": UnlinkedReason.AMBIGUOUS_NAME,
        "w2": UnlinkedReason.AMBIGUOUS_NAME,
    }


def test_two_canonicals_with_one_name_are_ambiguous() -> None:
    plan = plan_auto_links([wf("w1", "X", "a")], [wf("c1", "X", "b"), wf("c2", "X", "c")])
    assert plan.unlinked == {"w1": UnlinkedReason.AMBIGUOUS_NAME}


def test_an_ambiguous_name_is_settled_by_a_unique_hash() -> None:
    plan = plan_auto_links([wf("w1", "X", "a"), wf("w2", "X", "b")], [wf("c1", "X", "b")])
    assert plan.links == (Link("w2", "c1", LinkReason.CONTENT_HASH),)
    assert plan.unlinked == {"w1": UnlinkedReason.AMBIGUOUS_NAME}


def test_ambiguous_hash() -> None:
    plan = plan_auto_links([wf("w1", "A", "h"), wf("w2", "B", "h")], [wf("c1", "C", "h")])
    assert plan.links == ()
    assert plan.unlinked == {
        "w1": UnlinkedReason.AMBIGUOUS_HASH,
        "w2": UnlinkedReason.AMBIGUOUS_HASH,
    }


def test_a_canonical_taken_by_name_is_not_offered_by_hash() -> None:
    plan = plan_auto_links([wf("w1", "A", "h"), wf("w2", "B", "h")], [wf("c1", "A", "h")])
    assert plan.links == (Link("w1", "c1", LinkReason.NAME),)
    assert plan.unlinked == {"w2": UnlinkedReason.NO_MATCH}


def test_missing_names_and_hashes_never_match() -> None:
    plan = plan_auto_links([wf("w1", None, None), wf("w2", "", "")], [wf("c1", None, None)])
    assert plan.links == ()


names = st.sampled_from(["A", "B", "C", None])
hashes = st.sampled_from(["h1", "h2", "h3", None])


@st.composite
def sides(draw: st.DrawFn, prefix: str) -> list[Candidate]:
    count = draw(st.integers(0, 8))
    return [wf(f"{prefix}{i}", draw(names), draw(hashes)) for i in range(count)]


@given(sides("w"), sides("c"))
def test_links_are_one_to_one_and_justified(
    workflows: list[Candidate], canonicals: list[Candidate]
) -> None:
    plan = plan_auto_links(workflows, canonicals)
    linked_w = [link.workflow_id for link in plan.links]
    linked_c = [link.canonical_id for link in plan.links]
    assert len(set(linked_w)) == len(linked_w)
    assert len(set(linked_c)) == len(linked_c)
    by_id = {c.id: c for c in workflows + canonicals}
    for link in plan.links:
        w, c = by_id[link.workflow_id], by_id[link.canonical_id]
        if link.reason is LinkReason.NAME:
            assert w.name == c.name and w.name
        else:
            assert w.content_hash == c.content_hash and w.content_hash
    assert set(linked_w) | set(plan.unlinked) == {w.id for w in workflows}
    assert not set(linked_w) & set(plan.unlinked)
