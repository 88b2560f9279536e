from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freqpipe.errors import FreqpipeError
from freqpipe.transforms import PRESETS, Selection, SelectionError, ShapeError, stack_planes


def r(a: int, b: int) -> list[int]:
    return list(range(a, b + 1))


# conventions §3, table of static selections (natural-order k; Cb and Cr use the same set).
PRESET_TABLE = {
    "dct6": ([0, 1, 8, 9], [0], (4, 1, 1)),
    "dct24": (r(0, 3) + r(8, 11) + r(16, 19) + r(24, 27), [0, 1, 8, 9], (16, 4, 4)),
    "dct32": (r(0, 4) + r(8, 12) + r(16, 20) + r(24, 27) + r(32, 34), [0, 1, 2, 8, 9], (22, 5, 5)),
    "dct48": (
        r(0, 5) + r(8, 13) + r(16, 21) + r(24, 29) + r(32, 35) + r(40, 43),
        [0, 1, 2, 8, 9, 10, 16, 17],
        (32, 8, 8),
    ),
    "dct64": (
        r(0, 6) + r(8, 14) + r(16, 21) + r(24, 29) + r(32, 37) + r(40, 45) + r(48, 53),
        [0, 1, 2, 8, 9, 10, 16, 17, 24, 25],
        (44, 10, 10),
    ),
}


@pytest.mark.parametrize("name", sorted(PRESET_TABLE))
def test_presets_equal_facts_table(name):
    y, c, counts = PRESET_TABLE[name]
    assert (len(y), len(c), len(c)) == counts
    s = Selection.preset(name)
    assert [p.tolist() for p in s.per_plane] == [y, c, c]
    assert len(s) == sum(counts) == int(name[3:])
    assert s.indices.tolist() == y + [64 + k for k in c] + [128 + k for k in c]
    assert s.indices.dtype == np.int64
    assert s.name == name


def test_all_preset_and_list():
    s = Selection.preset("ALL")
    assert len(s) == 192 and s.indices.tolist() == list(range(192))
    assert set(PRESETS) == {*PRESET_TABLE, "all"}


def test_names():
    s = Selection.preset("dct6")
    assert s.names == ("Y0", "Y1", "Y8", "Y9", "Cb0", "Cr0")
    assert Selection(cb=[9]).names == ("Cb9",)


def test_zigzag_selection():
    s = Selection.zigzag(y=6, cb=3)
    assert s.per_plane[0].tolist() == sorted([0, 1, 8, 16, 9, 2])  # conventions §1 zigzag
    assert s.per_plane[1].tolist() == [0, 1, 8] == s.per_plane[2].tolist()
    assert len(Selection.zigzag(y=64, cb=64)) == 192
    assert Selection.zigzag(y=1, cb=0, cr=2).names == ("Y0", "Cr0", "Cr1")
    with pytest.raises(SelectionError):
        Selection.zigzag(y=65)


def test_explicit_and_flat_indices():
    s = Selection(y=[9, 0], cb=[1], cr=[])
    assert s.indices.tolist() == [0, 9, 65]
    assert Selection.from_indices([65, 9, 0]) == s
    assert s.frequencies.tolist() == [0, 9, 1]
    with pytest.raises(SelectionError):
        Selection.from_indices([192])


def test_equality_hash_immutability():
    a, b = Selection.preset("dct24"), Selection.preset("dct24")
    assert a == b and hash(a) == hash(b) and a != Selection.preset("dct6")
    assert len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.foo = 1  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        a.per_plane[0][0] = 5
    assert eval(repr(a), {"Selection": Selection}) == a
    e = Selection(y=[3], cr=[4])
    assert eval(repr(e), {"Selection": Selection}) == e


def test_json_round_trip():
    s = Selection.preset("dct32")
    back = Selection.from_json(s.to_json())
    assert back == s and back.name == "dct32"
    assert Selection.from_json(json.loads(s.to_json())) == s
    with pytest.raises(SelectionError):
        Selection.from_json("{not json")
    with pytest.raises(SelectionError):
        Selection.from_json('{"y": [0]}')


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Selection(y=[64]),
        lambda: Selection(y=[-1]),
        lambda: Selection(y=[1, 1]),
        lambda: Selection(),
        lambda: Selection(y=[0.5]),
        lambda: Selection.preset("dct25"),
    ],
)
def test_errors_are_typed(bad):
    with pytest.raises(SelectionError) as exc:
        bad()
    assert isinstance(exc.value, FreqpipeError) and isinstance(exc.value, ValueError)


def test_error_messages_list_choices():
    with pytest.raises(SelectionError, match="dct6, dct24, dct32, dct48, dct64, all"):
        Selection.preset("dct25")
    with pytest.raises(SelectionError, match="0..63"):
        Selection(y=[64])


def test_select_on_192_array():
    x = np.random.default_rng(0).normal(size=(2, 192, 3, 4))
    s = Selection.preset("dct24")
    np.testing.assert_array_equal(s.select(x), x[:, s.indices])
    np.testing.assert_array_equal(
        s.select(np.moveaxis(x, 1, -1), axis=-1), np.moveaxis(x[:, s.indices], 1, -1)
    )
    with pytest.raises(ShapeError):
        s.select(np.zeros((2, 64, 3, 4)))


def test_select_planes_equals_select_of_stack():
    rng = np.random.default_rng(1)
    planes = [rng.normal(size=(64, 5, 5)) for _ in range(3)]
    for name in PRESETS:
        s = Selection.preset(name)
        np.testing.assert_array_equal(s.select_planes(planes), s.select(stack_planes(*planes)))
    # a Y-only selection ignores the chroma planes' grid
    y_only = Selection(y=[0, 1])
    out = y_only.select_planes([planes[0], np.zeros((64, 2, 2)), np.zeros((64, 2, 2))])
    assert out.shape == (2, 5, 5)
    with pytest.raises(ShapeError):
        Selection.preset("dct6").select_planes([planes[0], np.zeros((64, 2, 2)), planes[2]])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 63), unique=True, max_size=64),
    st.lists(st.integers(0, 63), unique=True, max_size=64),
    st.lists(st.integers(0, 63), unique=True, min_size=1, max_size=64),
)
def test_property_json_and_indices(y, cb, cr):
    s = Selection(y, cb, cr)
    assert Selection.from_json(s.to_json()) == s
    assert len(s) == len(y) + len(cb) + len(cr) == len(s.names) == s.indices.size
    assert (np.diff(s.indices) > 0).all()
    assert Selection.from_indices(s.indices) == s
