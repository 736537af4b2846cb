"""EQ-5D index values against published / independently implemented example values.

Sources of the expected values (never computed with openprom):

* [R-eq5d] the R package ``eq5d`` (fragla/eq5d on GitHub), expected output in its test
  suite ``tests/testthat/test-eq5d5l.R`` and ``tests/testthat/test-eq5d3l.R``;
* [suite] the EuroQol-maintained value-set tables of the R package ``eq5dsuite``
  (MathsinHealth/eq5dsuite-value-sets, ``EQ-5D-5L/<code>.csv`` and ``EQ-5D-3L/<code>.csv``,
  one published index per health state).

Both round (3 decimals, or 6 for Norway in [suite]); openprom keeps the unrounded index,
so we compare with half a unit in the third decimal (0.0005) plus float slack, and with
±0.001 for the sets whose coefficients have 4+ decimals and produce exact x.xxx5 ties
(NO, SE, SE-2020; DESIGN.md), e.g. SE-2020 11111 = 0.9755 is 0.975 in [R-eq5d] and 0.976
in [suite].
"""

from __future__ import annotations

import pytest

from scoring.core import score

ROUND3 = 0.0005 + 1e-9
TIES = 0.001 + 1e-9


def _state(s: str) -> dict[str, int]:
    return dict(zip(("MO", "SC", "UA", "PD", "AD"), map(int, s)))


# [R-eq5d] "EQ-5D-5L England gives correct answer"
ENGLAND = [
    ("23245", 0.247),
    ("11111", 1.0),
    ("11112", 0.922),
    ("11121", 0.937),
    ("11211", 0.950),
    ("12111", 0.950),
    ("21111", 0.942),
    ("55555", -0.285),
    # [R-eq5d] tests/testthat/test-eq5d.R "Wrapper function gives correct answer":
    # eq5d(test.df, country="England", version="5L", type="VT") = 1.000, 0.393, 0.434,
    # 0.488, 0.400 for states 11111, 25532, 34241, 43332, 52141
    ("25532", 0.393),
    ("34241", 0.434),
    ("43332", 0.488),
    ("52141", 0.400),
]
# [R-eq5d] "EQ-5D-5L Denmark gives correct answer" (first three) and [suite] EQ-5D-5L/DK.csv
DK_5L = [
    ("11111", 1.0),
    ("13224", 0.439),
    ("55555", -0.758),
    ("11112", 0.928),
    ("11121", 0.952),
    ("11211", 0.967),
    ("12111", 0.965),
    ("21111", 0.959),
    ("12345", -0.074),
    ("23245", -0.123),
    ("15555", -0.538),
    ("25555", -0.579),
    # [suite] EQ-5D-5L/DK.csv, states with mobility at level 4 or 5
    ("41541", 0.288),
    ("42444", -0.142),
    ("43555", -0.536),
    ("44444", -0.251),
    ("45455", -0.66),
    ("51111", 0.78),
    ("51552", -0.003),
    ("52235", 0.0),
    ("53333", 0.405),
    ("54321", 0.548),
    ("55151", 0.034),
    ("55554", -0.57),
]
# [suite] EQ-5D-5L/NO.csv (Garratt et al. 2024), 6 decimals; 55555 = -0.453 is also the
# minimum stated in the paper's abstract
NO_5L = [
    ("11111", 1.0),
    ("11112", 0.928256),
    ("11121", 0.940568),
    ("11211", 0.972792),
    ("12111", 0.968688),
    ("21111", 0.96884),
    ("12345", 0.13692),
    ("23245", 0.101305),
    ("15555", -0.248),
    ("51511", 0.616),
    ("52555", -0.278312),
    ("55555", -0.453),
    ("13555", -0.107302),
    ("14455", -0.161375),
    ("52111", 0.763688),
    ("54111", 0.63535),
    ("51252", 0.305048),
    ("53555", -0.312302),
    ("54555", -0.40665),
    ("55455", -0.412725),
    ("55554", -0.3468),
]
# [suite] EQ-5D-5L/SE_2022.csv (Sun et al. 2022)
SE_5L = [
    ("11111", 1.0),
    ("11112", 0.969),
    ("11121", 0.99),
    ("11211", 0.978),
    ("12111", 0.981),
    ("21111", 0.978),
    ("31111", 0.974),
    ("12345", 0.22),
    ("23245", 0.187),
    ("15555", -0.182),
    ("25555", -0.204),
    ("51143", 0.427),
    ("51255", 0.01),
    ("52454", -0.001),
    ("53333", 0.595),
    ("53555", -0.211),
    ("54321", 0.697),
    ("54553", 0.004),
    ("55432", 0.5),
    ("55555", -0.314),  # also the minimum in Sun et al. 2022
]
# [suite] EQ-5D-5L/UK.csv (Rowen et al. 2026); 55555 = -0.567 also in DESIGN.md
UK_5L = [
    ("11111", 1.0),
    ("11112", 0.959),
    ("11121", 0.944),
    ("11211", 0.951),
    ("12111", 0.962),
    ("21111", 0.968),
    ("12345", 0.114),
    ("23245", 0.097),
    ("15555", -0.288),
    ("25555", -0.32),
    ("41211", 0.772),
    ("51111", 0.721),
    ("44444", -0.209),
    ("44555", -0.423),
    ("45111", 0.615),
    ("45352", 0.009),
    ("45455", -0.439),
    ("52353", -0.008),
    ("53333", 0.383),
    ("53451", -0.002),
    ("54321", 0.417),
    ("54441", 0.004),
    ("55432", 0.224),
]
# [R-eq5d] "EQ-5D-5L Sweden" (Burström 2020 set);
# 11111 is tested there with tolerance 0.0011 against 0.975 (exact constant 0.9755)
SE_2020 = [
    ("11111", 0.975),
    ("12345", 0.497),
    ("22335", 0.528),
    ("34543", 0.503),
    ("55555", 0.243),
    # [suite] EQ-5D-5L/SE_2020.csv
    ("11111", 0.976),
    ("11112", 0.943),
    ("11121", 0.965),
    ("11211", 0.921),
    ("12111", 0.95),
    ("21111", 0.947),
    ("11155", 0.542),
    ("23245", 0.472),
    ("15555", 0.296),
    ("25555", 0.267),
    ("51152", 0.691),
    ("51411", 0.757),
    ("51555", 0.326),
    ("52444", 0.429),
    ("53333", 0.595),
    ("53455", 0.244),
    ("54321", 0.713),
    ("55432", 0.599),
    ("55555", 0.243),
]
# [R-eq5d] test-eq5d3l.R "UK TTO" (Dolan 1997)
UK_3L = [
    ("11111", 1.0),
    ("11221", 0.760),
    ("33221", -0.037),
    ("12321", 0.329),
    ("33333", -0.594),
    # [suite] EQ-5D-3L/UK.csv
    ("11112", 0.848),
    ("11113", 0.414),
    ("11121", 0.796),
    ("11211", 0.883),
    ("12111", 0.815),
    ("21111", 0.850),
    ("22222", 0.516),
    # [suite] EQ-5D-3L/UK.csv gives the values to 9 decimals as stored in single
    # precision (e.g. 0.084999988 for 0.085); compared at the published 3 decimals
    ("11133", 0.028),
    ("13333", -0.28),
    ("21232", 0.088),
    ("23333", -0.349),
    ("31313", 0.006),
    ("32222", 0.002),
    ("33111", 0.122),
    ("33233", -0.536),
]
# [R-eq5d] test-eq5d3l.R "Denmark TTO" (Wittrup-Jensen 2009)
DK_3L = [
    ("11111", 1.0),
    ("32123", -0.017),
    ("12111", 0.823),
    ("12121", 0.761),
    ("32323", -0.161),
    ("33333", -0.624),
    # [suite] EQ-5D-3L/DK.csv
    ("11112", 0.818),
    ("11113", 0.519),
    ("11121", 0.824),
    ("11211", 0.838),
    ("21111", 0.833),
    ("22222", 0.592),
    ("11133", 0.123),
    ("12323", 0.25),
    ("13333", -0.213),
    ("23222", 0.463),
    ("31111", 0.475),
    ("31223", -0.002),
    ("32333", -0.495),
    ("33233", -0.528),
    ("33322", 0.009),
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
    assert got == pytest.approx(expected, abs=TIES)


@pytest.mark.parametrize(("state", "expected"), NO_5L)
def test_norway_5l(state: str, expected: float) -> None:
    got = score("eq5d5l", _state(state), value_set="NO")["index"]
    assert got == pytest.approx(expected, abs=TIES)
    # [suite] gives 6 decimals: the dimension x level model reproduces them exactly
    assert got == pytest.approx(expected, abs=1e-9)


def test_norway_is_the_5l_default() -> None:
    assert score("eq5d5l", _state("12345"))["index"] == pytest.approx(0.13692, abs=1e-9)


@pytest.mark.parametrize(("state", "expected"), SE_5L)
def test_sweden_2022_5l(state: str, expected: float) -> None:
    got = score("eq5d5l", _state(state), value_set="SE")["index"]
    assert got == pytest.approx(expected, abs=TIES)


@pytest.mark.parametrize(("state", "expected"), UK_5L + [("55555", -0.567)])
def test_uk_2026_5l(state: str, expected: float) -> None:
    got = score("eq5d5l", _state(state), value_set="UK")["index"]
    assert got == pytest.approx(expected, abs=ROUND3)


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
