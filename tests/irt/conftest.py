"""Shared data for the IRT tests."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

# LSAT section 6 (Bock & Lieberman 1970; R ltm's ``LSAT``, mirt's ``LSAT6``): the 30
# observed answer patterns of 1,000 examinees and their frequencies, as printed by
# ltm::factor.scores (https://rstudio-pubs-static.s3.amazonaws.com/
# 1049111_d258e411eefe4ba085e3bbc59b32dbeb.html). The two unobserved patterns are
# 01010 and 01100. Sum-score distribution 3, 20, 85, 237, 357, 298.
LSAT6_PATTERNS = {
    "00000": 3, "00001": 6, "00010": 2, "00011": 11, "00100": 1, "00101": 1,
    "00110": 3, "00111": 4, "01000": 1, "01001": 8, "01011": 16, "01101": 3,
    "01110": 2, "01111": 15, "10000": 10, "10001": 29, "10010": 14, "10011": 81,
    "10100": 3, "10101": 28, "10110": 15, "10111": 80, "11000": 16, "11001": 56,
    "11010": 21, "11011": 173, "11100": 11, "11101": 61, "11110": 28, "11111": 298,
}  # fmt: skip


def lsat6_frame() -> pd.DataFrame:
    """The 1,000 LSAT-6 answer rows, columns Item1..Item5."""
    rows = [[int(ch) for ch in pattern] for pattern, n in LSAT6_PATTERNS.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=[f"Item{i}" for i in range(1, 6)])


# LSAT section 7 (Bock & Lieberman 1970; mirt's ``LSAT7``): frequencies of the 32 answer
# patterns 00000, 00001, ..., 11111 (binary order), as transcribed in the jMetrik
# psychometrics library's MarginalMaximumLikelihoodEstimationTest
# (com.itemanalysis.psychometrics.irt.estimation). Checked: 1,000 examinees and the
# sum-score counts 12, 40, 114, 205, 321, 308 that mirt's own tests print for LSAT7
# (philchalmers/mirt inst/tests/test-01-mirtOne.R, EAPsum table).
LSAT7_COUNTS = [12, 19, 1, 7, 3, 19, 3, 17, 10, 5, 3, 7, 7, 23, 8, 28,
                7, 39, 11, 34, 14, 51, 15, 90, 6, 25, 7, 35, 18, 136, 32, 308]  # fmt: skip


def lsat7_frame() -> pd.DataFrame:
    """The 1,000 LSAT-7 answer rows, columns Item.1..Item.5 (as mirt)."""
    patterns = itertools.product([0, 1], repeat=5)
    rows = [list(p) for p, n in zip(patterns, LSAT7_COUNTS, strict=True) for _ in range(n)]
    return pd.DataFrame(rows, columns=[f"Item.{i}" for i in range(1, 6)])


@pytest.fixture(scope="session")
def lsat7() -> pd.DataFrame:
    return lsat7_frame()


@pytest.fixture(scope="session")
def lsat7_2pl(lsat7):
    from scoring.irt import fit

    return fit(lsat7, "2pl")


@pytest.fixture(scope="session")
def lsat6() -> pd.DataFrame:
    return lsat6_frame()


@pytest.fixture(scope="session")
def lsat6_2pl(lsat6):
    from scoring.irt import fit

    return fit(lsat6, "2pl")
