"""The workflow pages' layout helpers: the raw side-by-side line diff, folded values and
the state sparkline."""

from __future__ import annotations

from datetime import date

from canonflow.web.presenting import raw_rows, shown, sparkline


def test_the_raw_diff_pairs_changed_lines_and_keeps_context() -> None:
    settings = {"a": 1, "b": [1, 2, 3], "c": "same", **{f"k{i}": i for i in range(20)}}
    old = {"name": "W", "nodes": [], "connections": {}, "settings": settings, "id": "old-id"}
    new = old | {"settings": settings | {"b": [1, 2, 4], "d": True}, "id": "other-id"}
    rows = raw_rows(old, new, context=1)
    changed = [r for r in rows if r.kind == "changed"]
    assert [(r.left.strip(), r.right.strip()) for r in changed] == [("3", "4")]
    added = [r.right.strip() for r in rows if r.kind == "added"]
    assert added == ['"d": true,']
    assert rows[0].kind == "skip"  # the unchanged top is left out
    assert all(r.left_no is None for r in rows if r.kind == "added")
    equal = [r for r in rows if r.kind == "equal"]
    assert equal and all(r.left == r.right for r in equal)
    assert not any("-id" in r.left + r.right for r in rows)  # as Git files: no n8n ids
    assert raw_rows(old, old | {"id": "x", "active": True}) == []


def test_a_long_value_is_folded_and_a_short_one_is_not() -> None:
    short = shown("short")
    assert (short.summary, short.full, short.folded) == ('"short"', '"short"', False)
    long = shown({"text": "y" * 200})
    assert long.folded and "y" * 200 in long.full and len(long.summary) < 100
    assert "chars" in long.summary


def test_the_sparkline_counts_only_a_linked_cells_states() -> None:
    series = ["untracked", "in_sync", "drift", "drift", None, "conflict", "in_sync"]
    spark = sparkline(series, date(2026, 12, 6))
    assert (spark.bars[0].day, spark.bars[-1].day) == ("2026-11-30", "2026-12-06")
    assert spark.drift_days == 3
    assert spark.summary == "linked on 5 of the last 7 days, not in sync on 3 of them"
    tall = {b.state for b in spark.bars if b.height == spark.height}
    assert tall == {"drift", "conflict"}
    assert all(b.y + b.height == spark.height for b in spark.bars)
    assert sparkline([None, "untracked"], date(2026, 12, 6)).summary == (
        "not linked in the last 2 days"
    )
