"""EQ-5D index values against published / independently implemented example values.

Source of every expected value (never computed with openprom): the R package ``eq5d``
(fragla/eq5d on GitHub), documented expected output in its test suite
``tests/testthat/test-eq5d5l.R`` (5L value sets) and ``tests/testthat/test-eq5d3l.R``
(3L TTO value sets). That package rounds to 3 decimals; openprom keeps the unrounded
index, so we compare with a tolerance of half a unit in the third decimal (0.0005) plus
float slack, and ±0.001 for sets with 4-decimal coefficients (SE-2020), as the R tests do.
"""

from __future__ import annotations

import pytest

from scoring.core import score

ROUND3 = 0.0005 + 1e-9


def _state(s: str) -> dict[str, int]:
    return dict(zip(("MO", "SC", "UA", "PD", "AD"), map(int, s)))


# fragla/eq5d tests/testthat/test-eq5d5l.R, "EQ-5D-5L England gives correct answer"
ENGLAND = [
    ("23245", 0.247), ("11111", 1.0), ("11112", 0.922), ("11121", 0.937),
    ("11211", 0.950), ("12111", 0.950), ("21111", 0.942), ("55555", -0.285),
]
# fragla/eq5d tests/testthat/test-eq5d5l.R, "EQ-5D-5L Denmark gives correct answer"
DK_5L = [("11111", 1.0), ("13224", 0.439), ("55555", -0.758)]
# fragla/eq5d tests/testthat/test-eq5d5l.R, "EQ-5D-5L Sweden" (Burström 2020 set);
# 11111 is tested there with tolerance 0.0011 against 0.975 (exact constant 0.9755)
SE_2020 = [
    ("11111", 0.975), ("12345", 0.497), ("22335", 0.528), ("34543", 0.503),
    ("55555", 0.243),
]
# fragla/eq5d tests/testthat/test-eq5d3l.R, "UK TTO" (Dolan 1997)
UK_3L = [
    ("11111", 1.0), ("11221", 0.760), ("33221", -0.037), ("12321", 0.329),
    ("33333", -0.594),
]
# fragla/eq5d tests/testthat/test-eq5d3l.R, "Denmark TTO" (Wittrup-Jensen 2009)
DK_3L = [
    ("11111", 1.0), ("32123", -0.017), ("12111", 0.823), ("12121", 0.761),
    ("32323", -0.161), ("33333", -0.624),
]


@pytest.mark.parametrize(("state", "expected"), ENGLAND)
def test_england_5l(state: str, expected: float) -> None:
    got = score("eq5d5l", _state(state), value_set="England")["index"]
    assert got == pytest.approx(expected, abs=ROUND3)


@pytest.mark.parametrize(("state", "expected"), DK_5L)
def test_denmark_5l(state: str, expected: float) -> None:
    got = score("eq5d5l", _state(state), value_set="DK")["index"]
    assert got == pytest.approx(expected, abs=ROUND3)


@pytest.mark.parametrize(("state", "expected"), SE_2020)
def test_sweden_2020_5l(state: str, expected: float) -> None:
    got = score("eq5d5l", _state(state), value_set="SE-2020")["index"]
    assert got == pytest.approx(expected, abs=0.001 + 1e-9)


def test_sweden_2020_full_health_is_the_published_constant() -> None:
    # Burström et al. 2020: the constant (value of 11111) is 0.9755 (DESIGN.md; fragla VT.csv)
    assert score("eq5d5l", _state("11111"), value_set="SE-2020")["index"] == pytest.approx(0.9755)


@pytest.mark.parametrize(("state", "expected"), UK_3L)
def test_uk_3l(state: str, expected: float) -> None:
    got = score("eq5d3l", _state(state), value_set="UK")["index"]
    assert got == pytest.approx(expected, abs=ROUND3)


@pytest.mark.parametrize(("state", "expected"), DK_3L)
def test_denmark_3l(state: str, expected: float) -> None:
    got = score("eq5d3l", _state(state), value_set="DK")["index"]
    assert got == pytest.approx(expected, abs=ROUND3)


def test_defaults_and_unknown_value_set() -> None:
    assert score("eq5d3l", _state("33333"))["index"] == pytest.approx(-0.594, abs=ROUND3)
    with pytest.raises(ValueError, match="unknown value set"):
        score("eq5d5l", _state("11111"), value_set="Atlantis")


def test_vas_is_reported_as_given_and_profile_text() -> None:
    got = score("eq5d5l", {**_state("11121"), "VAS": 83})
    assert got["vas"] == 83.0
    assert got["profile"] == "11121"
    assert score("eq5d5l", _state("11121"))["vas"] is None


def test_missing_dimension_gives_no_index_and_no_profile() -> None:
    answers = {**_state("12345"), "VAS": 50}
    answers["PD"] = None
    got = score("eq5d5l", answers)
    assert got["index"] is None and got["profile"] is None and got["vas"] == 50.0


def test_impossible_codes_are_rejected() -> None:
    from scoring.core import ScoringInputError

    with pytest.raises(ScoringInputError):
        score("eq5d3l", _state("11114"))
    with pytest.raises(ScoringInputError):
        score("eq5d5l", {**_state("11111"), "VAS": 101})
