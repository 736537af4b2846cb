"""RAND-36 worked examples.

Sources:
- [JL] PharmCat/SF36HealthSurvey.jl, test/runtests.jl: the 36-answer vector below with
  PCS 44.4027962318693 and MCS 32.31104541346562 (SF-36 v1 US norms, NEMC scoring).
- [RAND] RAND 36-Item Health Survey 1.0 Scoring Instructions, Table 1 (item recodes) and
  Table 2 (scale items); expected scale values are hand-computed from those tables and
  the arithmetic is written next to each value.
- [NEMC] Ware JE et al. SF-36 Health Survey Manual and Interpretation Guide (1993): BP
  precodes 6.0/5.4/4.2/3.1/2.2/1.0 (item 21) and item 22 rules; GH item 1 precodes
  5.0/4.4/3.4/2.0/1.0; raw-to-0..100 transformation (raw - lowest) / range x 100.
"""

import math

import numpy as np
import pytest

from scoring import score, score_table
from scoring.rand36 import nemc_bodily_pain, nemc_general_health

JL_VECTOR = [1, 2, 3, 2, 3, 2, 3, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 3,
             3, 2, 3, 2, 1, 2, 1, 2, 1, 2, 3, 2, 1, 1, 2, 3]  # fmt: skip

BEST = {1: 1, 2: 1, **{i: 3 for i in range(3, 13)}, **{i: 2 for i in range(13, 20)},
        20: 1, 21: 1, 22: 1, 23: 1, 24: 6, 25: 6, 26: 1, 27: 1, 28: 6, 29: 6, 30: 1,
        31: 6, 32: 5, 33: 5, 34: 1, 35: 5, 36: 1}  # fmt: skip
WORST = {1: 5, 2: 5, **{i: 1 for i in range(3, 13)}, **{i: 1 for i in range(13, 20)},
         20: 5, 21: 6, 22: 5, 23: 6, 24: 1, 25: 1, 26: 6, 27: 6, 28: 1, 29: 1, 30: 6,
         31: 1, 32: 1, 33: 1, 34: 5, 35: 1, 36: 5}  # fmt: skip


def answers(by_number: dict[int, int | None]) -> dict[str, int | None]:
    return {f"q{i:02d}": v for i, v in by_number.items()}


def jl_answers() -> dict[str, int]:
    return {f"q{i + 1:02d}": c for i, c in enumerate(JL_VECTOR)}


def test_jl_vector_summaries():
    # [JL] test/runtests.jl: PCS 44.4027962318693, MCS 32.31104541346562 (atol 1e-6)
    r = score("rand36", jl_answers())
    assert r["PCS"] == pytest.approx(44.4027962318693, abs=1e-6)
    assert r["MCS"] == pytest.approx(32.31104541346562, abs=1e-6)


def test_jl_vector_rand_scales():
    # [RAND] Table 1/2 by hand:
    # PF q03-q12 = 3,2,3,2,3,2,1,2,1,2 -> 100,50,100,50,100,50,0,50,0,50 -> 55
    # RP q13-q16 = 1,2,1,2 -> 0,100,0,100 -> 50
    # BP q21=3 -> 60, q22=2 -> 75 -> 67.5 (the .jl test comments "#60, 75")
    # GH q01=1 -> 100, q33=1 -> 0, q34=1 -> 100, q35=2 -> 25, q36=3 -> 50 -> 55
    # VT q23=3 -> 60, q27=1 -> 100, q29=1 -> 0, q31=3 -> 40 -> 50
    # SF q20=3 -> 50, q32=2 -> 25 -> 37.5
    # RE q17-q19 = 1,2,1 -> 0,100,0 -> 33.33
    # MH q24=2 -> 20, q25=1 -> 0, q26=2 -> 80, q28=2 -> 20, q30=2 -> 80 -> 40
    # HT q02=2 -> 75
    expected = {"PF": 55, "RP": 50, "BP": 67.5, "GH": 55, "VT": 50, "SF": 37.5,
                "RE": 100 / 3, "MH": 40, "HT": 75}  # fmt: skip
    r = score("rand36", jl_answers())
    for name, value in expected.items():
        assert r[name] == pytest.approx(value), name


def test_best_answers_score_100_everywhere():
    # [RAND] Table 1: the best option of every item recodes to 100.
    r = score("rand36", answers(BEST))
    for name in ("PF", "RP", "BP", "GH", "VT", "SF", "RE", "MH", "HT"):
        assert r[name] == 100.0, name


def test_worst_answers_score_0_everywhere():
    # [RAND] Table 1: the worst option of every item recodes to 0.
    r = score("rand36", answers(WORST))
    for name in ("PF", "RP", "BP", "GH", "VT", "SF", "RE", "MH", "HT"):
        assert r[name] == 0.0, name


def test_best_answers_summaries_from_us_norms():
    # Ware, Kosinski & Keller 1994 norms (mean, SD, physical, mental coefficients); all
    # NEMC scales 100 here ([NEMC]: q21=q22=1 -> 6+6 -> 100; GH 5+5+5+5+5 -> 100). Sum
    # written out term by term from the manual's table, not from scoring.rand36:
    norms = [(84.52404, 22.89490, 0.42402, -0.22999), (81.19907, 33.79729, 0.35119, -0.12329),
             (75.49196, 23.55879, 0.31754, -0.09731), (72.21316, 20.16964, 0.24954, -0.01571),
             (61.05453, 20.86942, 0.02877, 0.23534), (83.59753, 22.37642, -0.00753, 0.26876),
             (81.29467, 33.02717, -0.19206, 0.43407), (74.84212, 18.01189, -0.22069, 0.48581)]
    pcs = 50 + 10 * sum((100 - m) / sd * p for m, sd, p, _ in norms)
    mcs = 50 + 10 * sum((100 - m) / sd * q for m, sd, _, q in norms)
    r = score("rand36", answers(BEST))
    assert r["PCS"] == pytest.approx(pcs, abs=1e-9)
    assert r["MCS"] == pytest.approx(mcs, abs=1e-9)
    # sanity against the published range of the summaries (roughly 10..70)
    assert 55 < r["PCS"] < 70 and 50 < r["MCS"] < 70


def test_nemc_bodily_pain_differs_from_rand():
    # q21=2, q22=1. [RAND]: 80 and 100 -> BP 90. [NEMC]: 5.4 + 5 = 10.4 -> (10.4-2)/10*100 = 84.
    a = dict(jl_answers(), q21=2, q22=1)
    assert score("rand36", a)["BP"] == pytest.approx(90.0)
    codes = {"q21": np.array([2]), "q22": np.array([1])}
    assert nemc_bodily_pain(codes, "half")[0] == pytest.approx(84.0)


@pytest.mark.parametrize(
    ("q21", "q22", "expected"),
    [
        (1, 1, 100.0),  # [NEMC] 6 + 6 -> (12-2)/10*100
        (1, 2, 80.0),  # 6 + 4 -> 80
        (3, 3, 52.0),  # 4.2 + 3 -> (7.2-2)/10*100 = 52
        (6, 5, 0.0),  # 1 + 1 -> 0
        (0, 2, 75.0),  # q21 missing: q22=2 -> 4.75, imputed for both -> (9.5-2)/10*100 = 75
        (3, 0, 64.0),  # q22 missing: 4.2 twice -> (8.4-2)/10*100 = 64
    ],
)
def test_nemc_bodily_pain_table(q21, q22, expected):
    codes = {"q21": np.array([q21]), "q22": np.array([q22])}  # 0 = missing here
    assert nemc_bodily_pain(codes, "half")[0] == pytest.approx(expected)


def test_nemc_general_health_item_1_precodes():
    # [NEMC] q01=2 -> 4.4; q33=3, q34=3 -> 3, q35=3, q36=3 -> 3: raw 16.4 -> (16.4-5)/20*100 = 57
    codes = {k: np.array([v]) for k, v in
             {"q01": 2, "q33": 3, "q34": 3, "q35": 3, "q36": 3}.items()}  # fmt: skip
    assert nemc_general_health(codes, "half")[0] == pytest.approx(57.0)
    # [RAND] same answers: 75, 50, 50, 50, 50 -> 55
    a = dict(jl_answers(), q01=2, q33=3, q34=3, q35=3, q36=3)
    assert score("rand36", a)["GH"] == pytest.approx(55.0)


def test_half_rule_and_rand_any_rule():
    # SF-36 manual half rule: PF (10 items) needs 5 answers; RAND's rule needs one.
    a = jl_answers()
    for i in range(3, 8):
        a[f"q{i:02d}"] = None  # 5 of 10 PF items left
    r = score("rand36", a)
    # q08..q12 = 2,1,2,1,2 (JL_VECTOR) -> 50,0,50,0,50 -> 30
    assert r["PF"] == pytest.approx(30.0)
    a["q08"] = None
    r = score("rand36", a)
    assert r["PF"] is None and r["PCS"] is None and r["MCS"] is None
    assert r["RP"] == pytest.approx(50.0)  # other scales unaffected

    from scoring.core import prepare
    from scoring.rand36 import ALGORITHMS, compute

    cols, _, _ = prepare(ALGORITHMS["rand36"], {k: np.array([v if v else np.nan])
                                                 for k, v in a.items()})
    # RAND rule: q09..q12 = 1,2,1,2 -> 0,50,0,50 -> 25
    anyrule = compute(cols, None, missing_rule="any")
    assert anyrule["PF"][0] == pytest.approx(25.0)


def test_role_emotional_needs_two_of_three():
    # 3 items: half rule needs 2 answered. q17=1 -> 0, q18=2 -> 100 -> 50
    a = dict(jl_answers(), q19=None)
    assert score("rand36", a)["RE"] == pytest.approx(50.0)
    a["q18"] = None
    assert score("rand36", a)["RE"] is None


def test_health_transition_direction():
    # [RAND] item 2: 1 "much better now than one year ago" -> 100 ... 5 "much worse" -> 0
    values = [score("rand36", dict(jl_answers(), q02=c))["HT"] for c in range(1, 6)]
    assert values == [100.0, 75.0, 50.0, 25.0, 0.0]
    assert score("rand36", dict(jl_answers(), q02=None))["HT"] is None


def test_score_table_matches_single_scores():
    table = {k: np.array([v, BEST[int(k[1:])], WORST[int(k[1:])]], dtype=float)
             for k, v in jl_answers().items()}  # fmt: skip
    result = score_table("rand36", table)
    assert result["PCS"][0] == pytest.approx(44.4027962318693, abs=1e-6)
    assert result["PF"][1] == 100 and result["PF"][2] == 0
    assert not math.isnan(result["MCS"][2])
