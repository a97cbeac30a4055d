"""Planning what Git files mean for canonical workflows (pure)."""

import dataclasses
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.git_files import (
    CandidateFile,
    KnownCanonical,
    deleted_canonicals,
    git_backed,
    is_same_workflow,
    plan_files,
    prune_refusal,
    slug_for_path,
)

A, B = uuid.uuid4(), uuid.uuid4()


def f(path: str, blob: str = "b1", size: int = 10) -> CandidateFile:
    return CandidateFile(path=path, blob_id=blob, size=size)


def k(
    id_: uuid.UUID, slug: str, path: str | None, blob: str | None = "b1", deleted: bool = False
) -> KnownCanonical:
    return KnownCanonical(id=id_, slug=slug, path=path, blob_id=blob, is_deleted=deleted)


def test_slugs_come_from_file_stems() -> None:
    assert slug_for_path("workflows/billing.json") == "billing"
    assert slug_for_path("workflows/My Flow.json") == "my-flow"


def test_new_unchanged_changed_and_oversized() -> None:
    known = [k(A, "a", "w/a.json", blob="same"), k(B, "b", "w/b.json", blob="old")]
    plan = plan_files(
        [f("w/a.json", "same"), f("w/b.json", "new"), f("w/c.json"), f("w/big.json", size=99)],
        known,
        max_bytes=50,
    )
    assert plan.unchanged == ["w/a.json"]
    assert [(c.path, slug, owner) for c, slug, owner in plan.apply] == [
        ("w/b.json", "b", B),
        ("w/c.json", "c", None),
    ]
    assert plan.skipped == [{"path": "w/big.json", "reason": "over the size limit (99 > 50 bytes)"}]


def test_the_file_whose_stem_is_the_slug_wins_a_collision() -> None:
    plan = plan_files([f("w/Same Slug.json"), f("w/same-slug.json")], [], max_bytes=100)
    assert [c.path for c, _s, _o in plan.apply] == ["w/same-slug.json"]
    assert plan.skipped[0]["path"] == "w/Same Slug.json"
    assert "taken by w/same-slug.json" in plan.skipped[0]["reason"]


def test_a_live_canonical_keeps_its_slug_unless_its_file_is_gone() -> None:
    known = [k(A, "x", "w/x.json")]
    held = plan_files([f("w/X.json")], known, max_bytes=100)
    assert held.apply == [] and "taken by w/x.json" in held.skipped[0]["reason"]
    freed = plan_files([f("w/X.json")], known, max_bytes=100, gone_paths=["w/x.json"])
    assert [(c.path, owner) for c, _s, owner in freed.apply] == [("w/X.json", A)]


def test_a_deleted_canonical_comes_back_with_its_slug() -> None:
    plan = plan_files([f("w/x.json", "b2")], [k(A, "x", "w/x.json", deleted=True)], max_bytes=100)
    assert [(c.path, owner) for c, _s, owner in plan.apply] == [("w/x.json", A)]


def test_deleted_canonicals_of_a_full_scan() -> None:
    known = [
        k(A, "a", "w/a.json"),
        k(B, "b", "w/b.json"),
        k(uuid.uuid4(), "c", "w/c.json", deleted=True),
    ]
    assert deleted_canonicals(known, {"w/a.json"}) == [B]


def test_a_canonical_not_yet_in_git_is_not_deleted_and_its_file_claims_it() -> None:
    """Onboarding makes canonicals before its pull request is merged: no blob yet."""
    pending = k(A, "a", "w/a.json", blob=None)
    pathless = k(B, "b", None, blob=None)
    assert deleted_canonicals([pending, pathless], set()) == []
    plan = plan_files(
        [f("w/a.json", "b2"), f("flows/b.json", "b3")], [pending, pathless], max_bytes=100
    )
    assert [(c.path, owner) for c, _s, owner in plan.apply] == [
        ("flows/b.json", B),
        ("w/a.json", A),
    ]


def test_a_renamed_file_is_the_same_workflow_by_blob_content_or_name() -> None:
    old = KnownCanonical(A, "a", "w/a.json", "blob", False, name="Billing", content_hash="v1:h")
    assert is_same_workflow(old, blob_id="blob", name="Other", content_hash="v1:z")
    assert is_same_workflow(old, blob_id="new", name="Other", content_hash="v1:h")
    assert is_same_workflow(old, blob_id="new", name="Billing", content_hash="v1:z")
    assert not is_same_workflow(old, blob_id="new", name="Invoices", content_hash="v1:z")
    assert not is_same_workflow(old, blob_id="new", name="", content_hash=None)


paths = st.lists(st.from_regex(r"w/[A-Za-z ]{1,6}\.json", fullmatch=True), max_size=12, unique=True)


@given(paths)
def test_no_two_applied_files_share_a_slug_and_every_file_is_accounted_for(
    names: list[str],
) -> None:
    plan = plan_files([f(name) for name in names], [], max_bytes=100)
    slugs = [slug for _c, slug, _o in plan.apply]
    assert len(slugs) == len(set(slugs))
    accounted = [c.path for c, _s, _o in plan.apply] + [s["path"] for s in plan.skipped]
    assert sorted(accounted) == sorted(names)


def test_a_canonical_hashed_by_older_rules_is_read_again_though_its_blob_did_not_change() -> None:
    old_rules = dataclasses.replace(k(A, "a", "w/a.json", blob="same"), hash_version=0)
    plan = plan_files([f("w/a.json", "same")], [old_rules], max_bytes=50)
    assert (plan.unchanged, [(c.path, owner) for c, _s, owner in plan.apply]) == (
        [],
        [("w/a.json", A)],
    )


def test_only_live_canonicals_with_a_file_in_git_can_be_pruned() -> None:
    known = [
        k(A, "a", "w/a.json"),
        k(B, "b", "w/b.json", deleted=True),
        k(uuid.uuid4(), "c", "w/c.json", blob=None),  # onboarding's, not merged yet
    ]
    assert [row.id for row in git_backed(known)] == [A]


@pytest.mark.parametrize(
    ("deleting", "live", "percent", "refused"),
    [
        (0, 0, 20.0, None),
        (0, 10, 20.0, None),
        (2, 10, 20.0, None),  # exactly the share: allowed
        (3, 10, 20.0, "3 of 10 canonical workflows deleted (30%, more than the prune guard's 20%)"),
        (1, 3, 50.0, None),
        (2, 3, 50.0, "2 of 3 canonical workflows deleted (67%, more than the prune guard's 50%)"),
        (5, 5, 100.0, "all 5 canonical workflows deleted"),  # never all, whatever the share
        (1, 1, 100.0, "all 1 canonical workflows deleted"),
    ],
)
def test_prune_refusal(deleting: int, live: int, percent: float, refused: str | None) -> None:
    why = prune_refusal(deleting, live, guard_percent=percent)
    assert why == (f"it would mark {refused}" if refused else None)
