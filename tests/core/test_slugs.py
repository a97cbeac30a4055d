"""Slugs are readable, deterministic, distinct, and always one safe file-name segment."""

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonflow.core.slugs import MAX_SLUG_LENGTH, assign_slug, assign_slugs, slugify

SAFE_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
DEVICE_NAMES = {"con", "prn", "aux", "nul"} | {
    f"{p}{d}" for p in ("com", "lpt") for d in range(1, 10)
}
QUICK = settings(max_examples=500, deadline=None, database=None)


def short_hash(name: str) -> str:
    return "wf-" + hashlib.sha256(name.encode()).hexdigest()[:8]


def assert_safe(slug: str) -> None:
    assert SAFE_SEGMENT.match(slug), slug
    assert not slug.endswith("-")
    assert "--" not in slug
    assert slug.split(".")[0] not in DEVICE_NAMES


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Order intake", "order-intake"),
        ("  Order   intake (v2)!  ", "order-intake-v2"),
        ("Café Crème", "cafe-creme"),
        ("Überweisung prüfen", "uberweisung-prufen"),
        ("\ufb01nance \uff21\uff30\uff29 \u2460", "finance-api-1"),  # compatibility forms fold
        ("数据同步", short_hash("数据同步")),
        ("🚀", short_hash("🚀")),
        ("🚀 Launch", "launch"),
        ("!!!", short_hash("!!!")),
        ("", "untitled"),
        ("   ", "untitled"),
        ("\t\n\u3000", "untitled"),
        ("../etc", "etc"),
        ("..", short_hash("..")),
        ("a/b", "a-b"),
        ("a\\b", "a-b"),
        ("a\x00b", "a-b"),
        (".hidden", "hidden"),
        ("trailing.", "trailing"),
        ("CON", "con-wf"),
        ("con.txt", "con-txt-wf"),
        ("Aux.Config.json", "aux-config-json-wf"),
        ("lpt9", "lpt9-wf"),
        ("COM¹", "com1-wf"),
        ("com10", "com10"),
        ("Con Man", "con-man"),
        ("console", "console"),
        ("x_y-z", "x-y-z"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug
    assert_safe(slug)


def test_distinct_non_latin_names_get_distinct_slugs() -> None:
    assert slugify("数据同步") != slugify("数据导入")


def test_a_long_name_is_cut_to_80_without_a_trailing_dash() -> None:
    name = "Sync " * 60  # 300 characters
    slug = slugify(name)
    assert len(slug) <= MAX_SLUG_LENGTH == 80
    assert slug == ("sync-" * 16).rstrip("-")
    assert_safe(slug)
    assert slugify("a" * 300) == "a" * 80


def test_a_long_reserved_name_keeps_its_marker_within_80() -> None:
    slug = slugify("con." + "x" * 100)
    assert slug.endswith("-wf")
    assert len(slug) == 80
    assert_safe(slug)


def test_collisions_get_numbered_suffixes_in_order() -> None:
    assert assign_slugs(["Orders", "orders", "ORDERS!", "Other"]) == [
        "orders",
        "orders-2",
        "orders-3",
        "other",
    ]


def test_a_suffix_skips_slugs_that_are_already_taken() -> None:
    assert assign_slug("Orders", {"orders", "orders-2", "orders-4"}) == "orders-3"
    assert assign_slugs(["a-2", "a", "a"]) == ["a-2", "a", "a-3"]


def test_a_suffix_is_never_cut_and_the_base_never_ends_with_a_dash() -> None:
    long_slug = slugify("w" * 77 + " tail")
    assert long_slug == "w" * 77 + "-ta"
    assert assign_slug("w" * 77 + " tail", {long_slug}) == "w" * 77 + "-2"
    base = "b" * 80
    taken = {base} | {f"{'b' * 78}-{n}" for n in range(2, 10)}
    assert assign_slug(base, taken) == "b" * 77 + "-10"


def test_empty_names_collide_deterministically() -> None:
    assert assign_slugs(["", " ", "Untitled"]) == ["untitled", "untitled-2", "untitled-3"]


@QUICK
@given(st.text())
def test_any_text_gives_a_safe_segment(name: str) -> None:
    slug = slugify(name)
    assert_safe(slug)
    assert slugify(name) == slug


@QUICK
@given(st.text(st.characters(codec="utf-8") | st.sampled_from(".-/\\\x00 ")))
def test_path_tricks_never_survive(name: str) -> None:
    slug = slugify(name)
    assert_safe(slug)
    assert not {"/", "\\", "\x00", "."} & set(slug)


def test_lone_surrogates_do_not_break_slugify() -> None:
    assert_safe(slugify("\ud800"))


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(
        st.sampled_from(["a", "A", "a!", "", "con", "b" * 85, "数", "数据"]) | st.text(),
        max_size=12,
    )
)
def test_assigned_slugs_are_distinct_safe_and_deterministic(names: list[str]) -> None:
    slugs = assign_slugs(names)
    assert len(set(slugs)) == len(names)
    assert slugs == assign_slugs(names)
    for slug in slugs:
        assert_safe(slug)
    if names:
        assert slugs[0] == slugify(names[0])


@QUICK
@given(st.text(), st.sets(st.text(alphabet="abc-23", max_size=6), max_size=8))
def test_assign_slug_avoids_what_is_taken(name: str, taken: set[str]) -> None:
    slug = assign_slug(name, taken | {slugify(name)})
    assert slug not in taken
    assert slug.startswith(slugify(name)[:70])
    assert_safe(slug)
