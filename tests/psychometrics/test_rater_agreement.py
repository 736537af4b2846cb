"""Cohen's kappa, Bland–Altman limits and distribution-based MIC against R.

Reference values: ``data/make_agreement_reference.R`` -> ``data/agreement_reference.json``
(R 4.2.2, psych 2.2.9 ``cohen.kappa``; Bland-Altman by the formulas of Bland & Altman
1999 in base R, ``lm`` for the proportional-bias slope). Data: psych::bfi items as two
"raters" (``bfi_report_data.csv``), HolzingerSwineford1939 x4 and x5 (lavaan).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import bland_altman, kappa, responsiveness

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "agreement_reference.json").read_text())


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi_report_data.csv")


@pytest.mark.parametrize(
    "x,y,weights,key,row",
    [
        ("A2", "A3", None, "kappa_A2_A3_quadratic", 0),
        ("A2", "A3", "quadratic", "kappa_A2_A3_quadratic", 1),  # psych's default weights
        ("A2", "A3", "linear", "kappa_A2_A3_linear", 1),  # w = 1 - |i - j| / 5 given to psych
        ("C1", "C2", "quadratic", "kappa_C1_C2_quadratic", 1),
    ],
)
def test_kappa_matches_psych_cohen_kappa(bfi, x, y, weights, key, row):
    ref = REF[key]
    res = kappa(bfi[x], bfi[y], weights)
    low, est, high = ref["bounds"][row]
    assert res.n == ref["n"]
    assert res.value == pytest.approx(est, abs=1e-12)
    assert res.ci == pytest.approx((low, high), abs=1e-12)
    var = ref["var_kappa"] if weights is None else ref["var_weighted"]
    assert res.extra["se"] ** 2 == pytest.approx(var, rel=1e-9)


def test_kappa_textbook_example():
    # Cohen (1960)-style 2 x 2 table: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no ->
    # po = 0.70, pc = 0.5 * 0.6 + 0.5 * 0.4 = 0.50, kappa = 0.40 (by hand)
    r1 = [1] * 25 + [0] * 25
    r2 = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    res = kappa(r1, r2)
    assert res.value == pytest.approx(0.40, abs=1e-12)
    assert res.extra["observed_agreement"] == pytest.approx(0.70)


def test_kappa_bad_input():
    with pytest.raises(ValueError, match="weights"):
        kappa([1, 2], [1, 2], "cubic")
    with pytest.raises(ValueError, match="non-numeric"):
        kappa(pd.Series([1, 2, "x"], dtype=object), [1, 2, 3])
    with pytest.raises(ValueError, match="outside categories"):
        kappa([1, 2, 3], [1, 2, 4], categories=[1, 2, 3])


def test_bland_altman_matches_r():
    hs = pd.read_csv(DATA / "holzinger_swineford_1939.csv")
    ref = REF["bland_altman_hs_x4_x5"]
    res = bland_altman(hs["x4"], hs["x5"])
    assert res.n == ref["n"]
    assert res.mean_difference.value == pytest.approx(ref["mean"], abs=1e-12)
    assert res.sd_difference == pytest.approx(ref["sd"], abs=1e-12)
    assert res.mean_difference.ci == pytest.approx(tuple(ref["mean_ci"]), abs=1e-12)
    assert res.lower_limit.value == pytest.approx(ref["lower"], abs=1e-12)
    assert res.upper_limit.value == pytest.approx(ref["upper"], abs=1e-12)
    assert res.lower_limit.ci == pytest.approx(tuple(ref["lower_ci"]), abs=1e-12)
    assert res.upper_limit.ci == pytest.approx(tuple(ref["upper_ci"]), abs=1e-12)
    assert res.proportional_bias.value == pytest.approx(ref["slope"], abs=1e-12)
    assert res.proportional_bias.extra["p"] < 0.05


def test_distribution_based_mic_next_to_anchor_based():
    # 0.5 SD (Norman et al. 2003) and 1 SEM = SD sqrt(1 - r) (Wyrwich et al. 1999),
    # computed here with numpy from the same baseline
    rng = np.random.default_rng(4)
    base = rng.normal(50, 10, 300)
    follow = base + rng.normal(3, 5, 300)
    anchor = np.where(follow - base > 3, "better", "same")
    res = responsiveness(
        base, follow, anchor, improved=["better"], unchanged=["same"], reliability=0.85, n_boot=50
    )
    sd = np.std(base, ddof=1)
    assert res.mic_half_sd.value == pytest.approx(0.5 * sd)
    assert res.mic_sem.value == pytest.approx(sd * np.sqrt(0.15))
    assert res.mic_mean_change is not None
    assert res.to_dict()["mic_sem"]["extra"]["reliability"] == 0.85
    with pytest.raises(ValueError, match="reliability"):
        responsiveness(base, follow, reliability=1.5)


@pytest.mark.parametrize(
    "key,cols", [("icc_lmer_retest", ["t1", "t2", "t3"]), ("icc_lmer_retest_t1t2", ["t1", "t2"])]
)
def test_icc_lmer_matches_psych_icc_lmer_true(key, cols):
    # psych::ICC(x, lmer = TRUE) (lme4 1.1-31 REML) on all 150 subjects of
    # simulated_retest.csv, including those with a missing occasion
    from scoring.psychometrics import icc

    ref = REF[key]
    res = icc(pd.read_csv(DATA / "simulated_retest.csv")[cols], lmer=True)
    assert res.n == ref["n"] == 150 and res.k == ref["k"]
    vc = res.variance_components
    got = [vc["subjects"], vc["raters"], vc["residual"]]
    np.testing.assert_allclose(got, ref["variance"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(res.table["icc"], ref["icc"], atol=2e-6)
    np.testing.assert_allclose(res.table["ci_low"], ref["lower"], atol=2e-6)
    np.testing.assert_allclose(res.table["ci_high"], ref["upper"], atol=2e-6)
    # the default (lmer=False) keeps complete rows only
    assert icc(pd.read_csv(DATA / "simulated_retest.csv")[cols]).n < 150
