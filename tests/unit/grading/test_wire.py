"""pls_grading.wire: what crosses from the learner's kernel to the judge, and what never does."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pls_grading import wire

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(),
    st.binary(), st.complex_numbers(allow_nan=False), st.decimals(allow_nan=False),
    st.fractions(), st.datetimes(), st.dates(), st.timedeltas(),
)
hashable = st.recursive(scalars, lambda inner: st.tuples(inner, inner) | st.frozensets(inner),
                        max_leaves=10)
plain = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
    | st.dictionaries(hashable, inner, max_size=5) | st.sets(hashable, max_size=5),
    max_leaves=30,
)


def same(left, right) -> bool:
    """Equal, of the same exact types all the way down."""
    if type(left) is not type(right):
        return False
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    return left == right


@given(plain)
def test_plain_data_crosses_as_itself(value):
    assert same(wire.loads(wire.dumps(value)), value)


def test_special_floats_cross():
    decoded = wire.loads(wire.dumps([math.nan, math.inf, -math.inf, -0.0]))
    assert math.isnan(decoded[0]) and decoded[1:3] == [math.inf, -math.inf]
    assert math.copysign(1, decoded[3]) == -1


def test_numpy_and_pandas_cross_as_data():
    array = np.arange(12, dtype=np.int32).reshape(3, 4)
    assert np.array_equal(wire.loads(wire.dumps(array)), array)
    assert wire.loads(wire.dumps(array)).dtype == np.int32
    assert wire.loads(wire.dumps(np.float64(2.5))) == np.float64(2.5)
    frame = pd.DataFrame({"name": ["a", "b"], "score": [1.5, 2.0]}, index=[10, 20])
    pd.testing.assert_frame_equal(wire.loads(wire.dumps(frame)), frame)
    series = pd.Series([1, 2, 3], name="n")
    pd.testing.assert_series_equal(wire.loads(wire.dumps(series)), series)


class EqualToEverything:
    def __eq__(self, other):
        return True


class LyingInt(int):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize(("value", "name"), [
    (EqualToEverything(), "EqualToEverything"),
    (LyingInt(3), "LyingInt"),
    ([1, LyingInt(3)], "LyingInt"),
    ({"k": EqualToEverything()}, "EqualToEverything"),
    ((x for x in range(3)), "generator"),
    (np.array([EqualToEverything()], dtype=object), "numpy.ndarray"),
])
def test_an_object_of_the_learners_making_does_not_cross(value, name):
    with pytest.raises(wire.Unsupported) as refused:
        wire.dumps(value)
    assert name in refused.value.type_name


def test_a_value_that_contains_itself_is_refused():
    loop: list = []
    loop.append(loop)
    with pytest.raises(wire.WireError, match="contains itself"):
        wire.dumps(loop)


def test_a_number_too_large_to_write_out_is_refused_as_data_not_an_error():
    # str() of an int of more than 4300 digits raises ValueError: the kernel's probe would fail
    # to answer at all, instead of saying why the value cannot be checked.
    with pytest.raises(wire.WireError, match="too large"):
        wire.dumps(10 ** 5000)
    with pytest.raises(wire.WireError, match="too large"):
        wire.dumps(Fraction(1, 10 ** 5000))


@pytest.mark.parametrize("text", [
    '["x", 1]',                                  # an unknown kind
    '["i", "12a"]', '["i", 12]',                 # ints as digits only
    '["s", 5]', '["l", {}]', '["d", [[1]]]',
    '["S", [["l", []]]]',                        # a list cannot be in a set
    '["a", {"dtype": "|O", "shape": [1], "data": ""}]',             # object arrays: never
    '["a", {"dtype": "<i8", "shape": [2], "data": "AAAAAAAAAAA="}]',  # wrong length
    '["h", "h1"]', '["m", "os"]',                # functions and modules only to the judge
    '{"__class__": "os.system"}', "[[[[]]]]", "not json",
])
def test_malformed_or_foreign_data_is_refused(text):
    with pytest.raises(wire.WireError):
        wire.loads(text)


def test_limits_keep_a_hostile_kernel_from_exhausting_the_judge():
    deep = "[" * 100 + "]" * 100
    with pytest.raises(wire.WireError):
        wire.loads(deep)
    nested = '["l", [' * 70 + "null" + "]]" * 70
    with pytest.raises(wire.WireError, match="nested too deeply"):
        wire.loads(nested)
    many = json.dumps(["l", [None] * 20])
    with pytest.raises(wire.WireError, match="too many items"):
        wire.Decoder(wire.Limits(items=10)).loads(many)
    with pytest.raises(wire.WireError, match="too large"):
        wire.Decoder(wire.Limits(text=10)).loads(json.dumps(["s", "x" * 20]))


def test_exact_types_are_built_whatever_the_kernel_claims():
    decoded = wire.loads(json.dumps(["d", [[["s", "a"], ["dec", "1.10"]],
                                           [["q", "1", "3"], ["td", 5]]]]))
    assert decoded == {"a": Decimal("1.10"), Fraction(1, 3): dt.timedelta(microseconds=5)}
    assert type(decoded["a"]) is Decimal
