"""canonical_json writes exactly what the standard library writes, only faster."""

import dataclasses
import datetime
import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonflow.core.canonical_json import canonical_json

FAST = settings(max_examples=300, deadline=None, database=None)


def stdlib_reference(obj: object) -> bytes:
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode()


finite_floats = st.floats(allow_nan=False, allow_infinity=False)
tiny_floats = st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.integers()
    | finite_floats
    | tiny_floats
    | st.text()
    | st.sampled_from(["null", ".0000", "1e-5", "x:null", "2e-7", "é", "\u2028", "\x00\x7f"])
)
json_documents = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=30,
)


@FAST
@given(json_documents)
def test_bytes_equal_the_standard_library(document: object) -> None:
    assert canonical_json(document) == stdlib_reference(document)


@FAST
@given(st.dictionaries(st.text(), json_scalars, max_size=8), st.randoms())
def test_key_insertion_order_does_not_matter(
    document: dict[str, object], rnd: random.Random
) -> None:
    items = list(document.items())
    rnd.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(document)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, b"1.0"),
        (-0.0, b"-0.0"),
        (0.1, b"0.1"),
        (1e15, b"1000000000000000.0"),
        (1e16, b"1e+16"),
        (1.5e16, b"1.5e+16"),
        (1e22, b"1e+22"),
        (0.0001, b"0.0001"),
        (1e-05, b"1e-05"),
        (1.5e-07, b"1.5e-07"),
        (-2.5e-05, b"-2.5e-05"),
        (5e-324, b"5e-324"),
        (1.7976931348623157e308, b"1.7976931348623157e+308"),
        (2**64 - 1, b"18446744073709551615"),
        (2**64, b"18446744073709551616"),
        (-(2**63) - 1, b"-9223372036854775809"),
        (10**40, b"1" + b"0" * 40),
    ],
)
def test_numbers_are_written_like_python_repr(value: float, expected: bytes) -> None:
    assert canonical_json(value) == expected
    assert canonical_json({"n": [value]}) == b'{"n":[' + expected + b"]}"


def test_keys_are_sorted_at_every_level_with_compact_separators() -> None:
    document = {"b": {"z": 1, "a": [{"y": None, "x": True}]}, "a": "é"}
    expected = '{"a":"é","b":{"a":[{"x":true,"y":null}],"z":1}}'.encode()
    assert canonical_json(document) == expected


def test_text_is_utf8_and_only_control_characters_are_escaped() -> None:
    assert canonical_json("Café 数据 🚀 \u2028") == '"Café 数据 🚀 \u2028"'.encode()
    assert canonical_json('q"b\\\n\x01') == b'"q\\"b\\\\\\n\\u0001"'


def test_tuples_are_arrays() -> None:
    assert canonical_json((1, "a")) == b'[1,"a"]'


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("wrap", [lambda v: v, lambda v: [1, v], lambda v: {"a": {"b": v}}])
def test_nan_and_infinity_are_rejected(bad: float, wrap: object) -> None:
    with pytest.raises(ValueError, match="JSON"):
        canonical_json(wrap(bad))  # type: ignore[operator]


def test_nan_is_rejected_next_to_a_big_integer() -> None:
    with pytest.raises(ValueError, match="JSON"):
        canonical_json([2**70, math.nan])


def test_lone_surrogates_are_rejected() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        canonical_json({"a": "\ud800"})


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    "bad",
    [
        {1: "int key"},
        {"a": {(1, 2): "tuple key"}},
        {"a": {1, 2}},
        [object()],
        datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
        Point(1),
        {"big": 2**70, "key": {1: 2}},
    ],
)
def test_values_that_are_not_json_data_are_rejected(bad: object) -> None:
    with pytest.raises(TypeError):
        canonical_json(bad)
