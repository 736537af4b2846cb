"""Property tests of EQ-5D scoring (hypothesis): bounds, monotonicity, table = row by row.

These check structural properties every value set must have (the published models are
monotone: a worse level never has a smaller decrement); they compare openprom with
itself only where the property is self-consistency (score_table vs score).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.core import score, score_table
from scoring.eq5d import ALGORITHMS, DIMENSIONS, lookup_table

LEVELS = {"eq5d5l": 5, "eq5d3l": 3}
SETS = [(i, v.name) for i, a in ALGORITHMS.items() for v in a.value_sets]


def _states(levels: int) -> np.ndarray:
    return np.indices((levels,) * 5).reshape(5, -1).T + 1


@pytest.mark.parametrize(("instrument", "value_set"), SETS)
def test_full_health_is_the_maximum(instrument: str, value_set: str) -> None:
    table = lookup_table(instrument, value_set)
    assert table.argmax() == 0  # state 11111
    assert table.max() <= 1.0


@pytest.mark.parametrize(("instrument", "value_set"), SETS)
def test_worsening_one_dimension_never_raises_the_index(instrument: str, value_set: str) -> None:
    levels = LEVELS[instrument]
    table = lookup_table(instrument, value_set)
    states = _states(levels)
    for j in range(5):
        worse = states.copy()
        can = worse[:, j] < levels
        worse[can, j] += 1
        pos = np.zeros(len(states), dtype=np.intp)
        for k in range(5):
            pos = pos * levels + (worse[:, k] - 1)
        assert np.all(table[pos][can] <= table[can] + 1e-12)


def _answer(levels: int):
    return st.one_of(st.none(), st.integers(1, levels))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 12))
def test_table_equals_row_by_row(data, n: int) -> None:
    instrument, value_set = data.draw(st.sampled_from(SETS))
    levels = LEVELS[instrument]
    rows = [
        {
            **{d: data.draw(_answer(levels)) for d in DIMENSIONS},
            "VAS": data.draw(st.one_of(st.none(), st.integers(0, 100))),
        }
        for _ in range(n)
    ]
    table = {k: np.array([r[k] for r in rows], dtype=object) for k in rows[0]}
    result = score_table(instrument, table, value_set=value_set)
    for i, row in enumerate(rows):
        one = score(instrument, row, value_set=value_set)
        idx = result["index"][i]
        assert (one["index"] is None) == bool(np.isnan(idx))
        if one["index"] is not None:
            assert one["index"] == idx
        missing = any(row[d] is None for d in DIMENSIONS)
        assert (one["index"] is None) == missing
        expected_profile = None if missing else "".join(str(row[d]) for d in DIMENSIONS)
        assert one["profile"] == expected_profile == result["profile"][i]
        assert one["vas"] == (None if row["VAS"] is None else float(row["VAS"]))
        if not missing:
            assert one["index"] <= lookup_table(instrument, value_set)[0]
