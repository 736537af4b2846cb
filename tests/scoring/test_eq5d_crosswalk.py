"""UK crosswalk value set (van Hout et al. 2012): published table values and model check.

The table (``instruments/data/eq5d_uk_crosswalk.csv``) is the EuroQol crosswalk index table
for the UK, as distributed by the R package ``eq5d`` (fragla/eq5d ``data-raw/CW.csv``,
column ``UK``). The expected values below are that package's documented test output
(``tests/testthat/test-eq5dcw.R``, "EQ-5D-3L UK Crosswalk") and rows of the crosswalk table.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares

from scoring.core import score
from scoring.eq5d import lookup_table

# fragla/eq5d tests/testthat/test-eq5dcw.R "EQ-5D-3L UK Crosswalk gives correct answer"
R_EQ5D = [("11111", 1.0), ("11221", 0.795), ("44441", 0.226), ("44525", 0.004), ("55555", -0.594)]
# fragla/eq5d data-raw/CW.csv, column UK (EuroQol crosswalk calculator)
CW_TABLE = [
    ("11112", 0.879),
    ("11255", -0.001),
    ("11555", -0.066),
    ("12345", 0.063),
    ("21111", 0.877),
    ("31111", 0.85),
    ("51111", 0.336),
    ("35555", -0.349),
    ("11145", 0.186),
    ("11355", -0.008),
    ("11421", 0.677),
    ("11455", -0.027),
    ("12155", -0.059),
    ("12255", -0.088),
    ("12333", 0.602),
]


@pytest.mark.parametrize(("state", "expected"), R_EQ5D + CW_TABLE)
def test_uk_crosswalk_values(state: str, expected: float) -> None:
    answers = dict(zip(("MO", "SC", "UA", "PD", "AD"), map(int, state)))
    got = score("eq5d5l", answers, value_set="UK-crosswalk")["index"]
    assert got == pytest.approx(expected, abs=1e-9)  # the published table is used as is


def test_table_is_an_expectation_of_the_uk_3l_value() -> None:
    """van Hout 2012: crosswalk = E[UK 3L value] under per-dimension 5L->3L probabilities.

    Fit those 40 probabilities to the 3125 published values; a table transcribed correctly
    is reproduced to within its 3-decimal rounding (plus a little fitting slack).
    """
    table = lookup_table("eq5d5l", "UK-crosswalk")
    states = np.indices((5,) * 5).reshape(5, -1).T
    # Dolan 1997 UK 3L decrements (levels 2, 3) per dimension; constant 0.081, N3 0.269
    c2 = np.array([0.069, 0.104, 0.036, 0.123, 0.071])
    c3 = np.array([0.314, 0.214, 0.094, 0.386, 0.236])

    def expected_value(p: np.ndarray) -> np.ndarray:
        q = np.zeros((2, 5, 5))
        q[:, :, 1:] = p.reshape(2, 5, 4)
        q2 = q[0][np.arange(5), states]
        q3 = q[1][np.arange(5), states]
        q1 = 1 - q2 - q3
        return (
            1
            - 0.081 * (1 - q1.prod(1))
            - (q2 * c2 + q3 * c3).sum(1)
            - 0.269 * (1 - (1 - q3).prod(1))
        )

    fit = least_squares(lambda p: expected_value(p) - table, np.full(40, 0.3), bounds=(0, 1))
    assert np.abs(fit.fun).max() < 0.001
