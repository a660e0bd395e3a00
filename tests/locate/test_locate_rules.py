"""The ownership rules: unit ranks, owner choice from candidate pairs, chains."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgeo.errors import InvalidInput
from gridgeo.locate.rules import LEVELS, pick_owners, unit_chains, unit_ranks

DEPTH = {level: depth for depth, level in enumerate(LEVELS)}


def test_ranks_put_specials_first_then_depth_then_code():
    codes = np.array(
        [
            "330109001001002",
            "330109001001001",
            "330109001001",
            "330109001001801",
            "330109001001001001",
            "330109001001802",
        ],
        dtype=object,
    )
    levels = np.array(["grid", "grid", "community", "grid", "microgrid", "grid"], dtype=object)
    kinds = np.array(["base", "base", "base", "special", "base", "special"], dtype=object)
    ranks = unit_ranks(codes, levels, kinds)
    by_rank = codes[np.argsort(ranks)].tolist()
    assert by_rank == [
        "330109001001801",
        "330109001001802",
        "330109001001001001",
        "330109001001001",
        "330109001001002",
        "330109001001",
    ]


def test_pick_owners_accepts_pairs_in_any_order():
    ranks = np.array([3, 0, 2, 1])
    point_idx = np.array([2, 0, 2, 0, 2, 3])
    unit_idx = np.array([0, 2, 3, 0, 2, 0])
    assert pick_owners(point_idx, unit_idx, ranks, 5).tolist() == [2, -1, 3, 0, -1]
    assert pick_owners(np.array([], int), np.array([], int), ranks, 2).tolist() == [-1, -1]


unit_st = st.tuples(
    st.text("0123456789", min_size=3, max_size=3),
    st.sampled_from(LEVELS),
    st.sampled_from(["base", "special"]),
)


@settings(max_examples=200, deadline=None)
@given(
    units=st.lists(unit_st, min_size=1, max_size=12, unique_by=lambda u: u[0]),
    pairs=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 11)), max_size=40),
)
def test_pick_owners_matches_the_rules_written_out(units, pairs):
    codes = np.array([u[0] for u in units], dtype=object)
    levels = np.array([u[1] for u in units], dtype=object)
    kinds = np.array([u[2] for u in units], dtype=object)
    pairs = [(p, u % len(units)) for p, u in pairs]
    got = pick_owners(
        np.array([p for p, _ in pairs], dtype=np.int64),
        np.array([u for _, u in pairs], dtype=np.int64),
        unit_ranks(codes, levels, kinds),
        6,
    )
    for point in range(6):
        cands = {u for p, u in pairs if p == point}
        special = {u for u in cands if kinds[u] == "special"}
        pool = special or cands
        if not pool:
            assert got[point] == -1
            continue
        deepest = max(DEPTH[levels[u]] for u in pool)
        best = min((u for u in pool if DEPTH[levels[u]] == deepest), key=lambda u: codes[u])
        assert got[point] == best


def test_chains_in_any_row_order():
    codes = ["330109001001", "330109", "330109001001001", "330109001", "330109001001801"]
    parents = ["330109001", None, "330109001001", "330109", "330109001001"]
    chains = unit_chains(codes, parents)
    assert chains[2] == ("330109", "330109001", "330109001001", "330109001001001")
    assert chains[4] == ("330109", "330109001", "330109001001", "330109001001801")
    assert chains[1] == ("330109",)


def test_chains_reject_dangling_parents_and_cycles():
    with pytest.raises(InvalidInput, match="330108"):
        unit_chains(["330109001"], ["330108"])
    with pytest.raises(InvalidInput, match="cycle"):
        unit_chains(["a", "b", "c"], ["b", "c", "a"])
    with pytest.raises(InvalidInput, match="cycle"):
        unit_chains(["a"], ["a"])
