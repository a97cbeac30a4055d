"""Onboarding's slug plan: deterministic, distinct, collisions reported."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.onboarding import AnchorWorkflow, plan_slugs


def test_collisions_get_suffixes_in_name_then_id_order() -> None:
    workflows = [
        AnchorWorkflow("m3", "30", "Billing"),
        AnchorWorkflow("m1", "10", "Billing"),
        AnchorWorkflow("m2", "20", "Reports"),
    ]
    assignments, collisions = plan_slugs(workflows, taken=set())
    slugs = {a.key: a.slug for a in assignments}
    assert slugs == {"m1": "billing", "m3": "billing-2", "m2": "reports"}
    assert len(collisions) == 1
    assert collisions[0].plain_slug == "billing"
    assert collisions[0].workflows == (("10", "Billing", "billing"), ("30", "Billing", "billing-2"))


def test_taken_slugs_are_avoided_and_reported() -> None:
    assignments, collisions = plan_slugs([AnchorWorkflow("m", "1", "Reports")], {"reports"})
    assert [a.slug for a in assignments] == ["reports-2"]
    assert [c.plain_slug for c in collisions] == ["reports"]


def test_names_with_one_slug_collide() -> None:
    assignments, collisions = plan_slugs(
        [AnchorWorkflow("a", "1", "Sales Report"), AnchorWorkflow("b", "2", "sales-report")],
        set(),
    )
    assert sorted(a.slug for a in assignments) == ["sales-report", "sales-report-2"]
    assert len(collisions) == 1


@given(
    names=st.lists(st.sampled_from(["A", "a", "B", "b!", "", "Ω", "con"]), max_size=12),
    taken=st.sets(st.sampled_from(["a", "b", "a-2", "untitled"])),
)
def test_distinct_free_and_independent_of_input_order(names: list[str], taken: set[str]) -> None:
    workflows = [AnchorWorkflow(f"k{i}", str(i), name) for i, name in enumerate(names)]
    assignments, _ = plan_slugs(workflows, taken)
    slugs = [a.slug for a in assignments]
    assert len(set(slugs)) == len(slugs) and not set(slugs) & taken
    shuffled = workflows[:]
    random.Random(len(names)).shuffle(shuffled)
    again, _ = plan_slugs(shuffled, taken)
    assert {a.key: a.slug for a in again} == {a.key: a.slug for a in assignments}
