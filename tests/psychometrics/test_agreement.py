"""Tests for scoring.psychometrics.agreement (ICC, SEM, SDC).

Sources:
* Shrout PE, Fleiss JL (1979). Intraclass correlations: uses in assessing rater
  reliability. Psychol Bull 86:420-428. Table 2 (6 targets x 4 judges) and Table 4 (ICCs).
* R 4.2.2, psych 2.2.9 ``ICC()`` output on the same data (independent implementation),
  run by hand: ``ICC(sf, lmer = FALSE)`` (ANOVA mean squares, as openprom) and the default
  ``ICC(sf)`` (variance components from lme4, equal to 1e-6).
* de Vet HCW, Terwee CB, Knol DL, Bouter LM (2006). When to use agreement versus
  reliability measures. J Clin Epidemiol 59:1033-1039 (SEM, SDC = 1.96 * sqrt(2) * SEM).
* Simulated test-retest data (data/simulated_retest.csv) with reference values from
  data/make_simulated_reference.R (psych 2.2.9) in data/simulated_psych_reference.json.
* pingouin 0.7.0 ``intraclass_corr`` (independent Python implementation; it labels the
  forms with McGraw & Wong names).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.psychometrics import Estimate, icc, sdc, sem
from scoring.psychometrics.agreement import ICCResult

DATA = Path(__file__).parent / "data"

# Shrout & Fleiss (1979), Table 2: rows = targets, columns = judges 1-4
SHROUT_FLEISS = pd.DataFrame(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    columns=["J1", "J2", "J3", "J4"],
)

# Shrout & Fleiss (1979), Table 4 (published to 2 decimals)
PUBLISHED = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62,
             "ICC3k": 0.91}

# R 4.2.2, psych 2.2.9: ICC(sf, lmer = FALSE)$results -> ICC, F, lower bound, upper bound
R_ICC_ANOVA = {
    "ICC1": (0.165741768405, 1.79467849224, -0.1329323248748, 0.722560062328),
    "ICC2": (0.289763779528, 11.02724795640, 0.0187865133747, 0.761084369649),
    "ICC3": (0.714840714841, 11.02724795640, 0.3424647650339, 0.945858259955),
    "ICC1k": (0.442797133679, 1.79467849224, -0.8844421552381, 0.912415420341),
    "ICC2k": (0.620050547599, 11.02724795640, 0.0711368153025, 0.927232040168),
    "ICC3k": (0.909315542377, 11.02724795640, 0.6756747138163, 0.985891678169),
}
# R 4.2.2, psych 2.2.9: default ICC(sf) (lmer = TRUE) -> ICC, lower, upper
R_ICC_DEFAULT = {
    "ICC1": (0.1657422862, -0.13293204252, 0.7225604267),
    "ICC2": (0.2897641937, 0.01878660465, 0.7610847114),
    "ICC3": (0.7148415115, 0.34246594945, 0.9458584446),
    "ICC1k": (0.4427980576, -0.88443903047, 0.9124155656),
    "ICC2k": (0.6200510217, 0.07113714249, 0.9272321670),
    "ICC3k": (0.9093158647, 0.67567586644, 0.9858917283),
}


@pytest.fixture(scope="module")
def sim_ref() -> dict:
    return json.loads((DATA / "simulated_psych_reference.json").read_text())


@pytest.fixture(scope="module")
def retest() -> pd.DataFrame:
    return pd.read_csv(DATA / "simulated_retest.csv")


def test_shrout_fleiss_published_values():
    result = icc(SHROUT_FLEISS)
    assert isinstance(result, ICCResult)
    assert (result.n, result.k) == (6, 4)
    for form, value in PUBLISHED.items():
        assert result.table.loc[form, "icc"] == pytest.approx(value, abs=0.005), form


@pytest.mark.parametrize("form", list(R_ICC_ANOVA))
def test_shrout_fleiss_matches_psych_anova(form):
    value, f, low, high = R_ICC_ANOVA[form]
    est = icc(SHROUT_FLEISS, form)
    assert isinstance(est, Estimate)
    assert est.value == pytest.approx(value, abs=1e-9)
    assert est.extra["F"] == pytest.approx(f, abs=1e-8)
    assert est.ci_low == pytest.approx(low, abs=1e-9)
    assert est.ci_high == pytest.approx(high, abs=1e-9)
    assert est.n == 6 and est.ci_level == 0.95


@pytest.mark.parametrize("form", list(R_ICC_DEFAULT))
def test_shrout_fleiss_matches_psych_default_lmer(form):
    value, low, high = R_ICC_DEFAULT[form]
    row = icc(SHROUT_FLEISS).table.loc[form]
    assert row["icc"] == pytest.approx(value, abs=1e-5)
    assert row["ci_low"] == pytest.approx(low, abs=1e-5)
    assert row["ci_high"] == pytest.approx(high, abs=1e-5)


def test_degrees_of_freedom_and_p():
    # psych::ICC(sf, lmer = FALSE): df 5/18 (one-way), 5/15 (two-way); p .1647688, .0001346
    t = icc(SHROUT_FLEISS).table
    assert tuple(t.loc["ICC1", ["df1", "df2"]]) == (5, 18)
    assert tuple(t.loc["ICC3", ["df1", "df2"]]) == (5, 15)
    assert t.loc["ICC1", "p"] == pytest.approx(0.164768808344640, abs=1e-9)
    assert t.loc["ICC2", "p"] == pytest.approx(0.000134566516484, abs=1e-11)


@pytest.mark.parametrize("alias,form", [
    ("ICC(A,1)", "ICC2"), ("ICC(C,1)", "ICC3"), ("ICC(1)", "ICC1"), ("ICC(A,k)", "ICC2k"),
    ("ICC(C,k)", "ICC3k"), ("icc2", "ICC2"), ("ICC(3,1)", "ICC3"), ("ICC(k)", "ICC1k"),
    ("ICC(1,1)", "ICC1"), ("ICC(1,k)", "ICC1k"),
])
def test_mcgraw_wong_aliases(alias, form):
    # McGraw & Wong (1996) Psychol Methods 1:30-46, Table 4 correspondence to Shrout & Fleiss
    assert icc(SHROUT_FLEISS, alias).value == icc(SHROUT_FLEISS, form).value
    assert icc(SHROUT_FLEISS, alias).extra["model"] == form


def test_result_indexing_and_json():
    result = icc(SHROUT_FLEISS, ci=0.90)
    assert result["ICC(A,1)"].ci_level == 0.90
    # a 90 % interval lies inside the 95 % one
    wide = icc(SHROUT_FLEISS, "ICC2")
    assert wide.ci_low < result["ICC2"].ci_low < result["ICC2"].ci_high < wide.ci_high
    payload = json.loads(json.dumps(result.to_dict()))
    assert set(payload["forms"]) == set(R_ICC_ANOVA)
    assert payload["n"] == 6


def test_rows_with_missing_values_are_dropped():
    with_missing = pd.concat([SHROUT_FLEISS, pd.DataFrame([[np.nan, 3, 4, 5]],
                                                          columns=SHROUT_FLEISS.columns)])
    a = icc(with_missing).table
    b = icc(SHROUT_FLEISS).table
    pd.testing.assert_frame_equal(a, b)


def test_simulated_three_occasions_match_psych(retest, sim_ref):
    ref = sim_ref["icc3"]
    result = icc(retest)
    assert result.n == ref["n"]
    np.testing.assert_allclose(result.table["icc"], ref["icc"], atol=1e-9)
    np.testing.assert_allclose(result.table["ci_low"], ref["lower"], atol=1e-9)
    np.testing.assert_allclose(result.table["ci_high"], ref["upper"], atol=1e-9)
    np.testing.assert_allclose(result.table["F"], ref["F"], rtol=1e-9)


def test_matches_pingouin_on_random_data():
    pingouin = pytest.importorskip("pingouin")
    rng = np.random.default_rng(5)
    wide = pd.DataFrame(rng.normal(0, 1, (300, 1)) + rng.normal(0, 0.8, (300, 4))
                        + np.array([0.0, 0.1, 0.3, -0.2]), columns=list("abcd"))
    long = wide.reset_index(names="subject").melt(id_vars="subject", var_name="rater",
                                                  value_name="score")
    ref = pingouin.intraclass_corr(long, "subject", "rater", "score").set_index("Type")
    ours = icc(wide)
    ci_column = "CI95" if "CI95" in ref.columns else "CI95%"
    for name in ("ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)"):
        est = ours[name]
        assert est.value == pytest.approx(ref.loc[name, "ICC"], abs=1e-10)
        # pingouin rounds its CI to 2 decimals
        low, high = ref.loc[name, ci_column]
        assert est.ci_low == pytest.approx(low, abs=0.006)
        assert est.ci_high == pytest.approx(high, abs=0.006)


def test_sem_and_sdc_match_r_formulas(retest, sim_ref):
    ref = sim_ref["sem_t1t2"]
    pair = retest[["t1", "t2"]]
    s = sem(pair)
    assert s.value == pytest.approx(ref["sem_icc2"], abs=1e-9)
    assert s.extra["sd"] == pytest.approx(ref["sd_pooled"], abs=1e-9)
    assert s.extra["icc"] == pytest.approx(sim_ref["icc_t1t2"]["icc"][1], abs=1e-9)
    assert sem(pair, method="anova").value == pytest.approx(ref["sem_anova"], abs=1e-9)
    d = sdc(pair)
    assert d.value == pytest.approx(ref["sdc"], abs=1e-9)
    assert sdc(s).value == pytest.approx(ref["sdc"], abs=1e-9)


def test_sem_from_sd_and_icc_definition():
    # de Vet et al. (2006): SEM = SD * sqrt(1 - ICC); SD 10, ICC .75 -> 5
    assert sem(10.0, 0.75).value == pytest.approx(5.0)
    assert sem(10.0, icc(SHROUT_FLEISS, "ICC2")).extra["icc"] == pytest.approx(
        R_ICC_ANOVA["ICC2"][0], abs=1e-9)
    # SDC = 1.96 * sqrt(2) * SEM = 13.859 for SEM 5; group level divides by sqrt(n)
    d = sdc(5.0, n=25)
    assert d.value == pytest.approx(13.859292911256333)
    assert d.extra["sdc_group"] == pytest.approx(13.859292911256333 / 5)


def test_sem_agreement_anova_includes_rater_variance():
    # de Vet et al. (2006): SEM_agreement = sqrt(var_raters + var_residual), var_raters =
    # (MSJ - MSE) / n. Mean squares of the Shrout-Fleiss data from R 4.2.2
    # summary(aov(y ~ subject + judge)): MSJ = 32.48611111, MSE = 1.01944444.
    msj, mse = 32.48611111, 1.01944444
    est = sem(SHROUT_FLEISS, method="anova_agreement")
    assert est.value == pytest.approx(np.sqrt((msj - mse) / 6 + mse), abs=1e-7)
    assert sem(SHROUT_FLEISS, method="anova").value == pytest.approx(np.sqrt(mse), abs=1e-7)
    assert icc(SHROUT_FLEISS).mean_squares.msb == pytest.approx(11.24166667, abs=1e-7)


@pytest.mark.parametrize("bad,message", [
    (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), "at least 2 columns"),
    (pd.DataFrame({"a": ["x", "y", "z"], "b": [1, 2, 3]}), "non-numeric"),
    (pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [1.0, 1.0, 1.0]}), "all values are equal"),
    (pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]}), "row"),
])
def test_bad_input_raises_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        icc(bad)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown ICC model"):
        icc(SHROUT_FLEISS, "ICC4")
    with pytest.raises(ValueError, match="ci must be"):
        icc(SHROUT_FLEISS, ci=95)
    with pytest.raises(ValueError, match="icc_value is required"):
        sem(3.0)
    with pytest.raises(ValueError, match="method must be"):
        sem(SHROUT_FLEISS, method="bootstrap")
    with pytest.raises(ValueError, match="SEM must be"):
        sdc(-1.0)


def test_icc_is_fast_on_100000_by_36():
    rng = np.random.default_rng(3)
    big = pd.DataFrame(rng.integers(1, 6, (100_000, 36)).astype(float))
    start = time.process_time()  # CPU time: robust to other jobs on the machine
    result = icc(big)
    elapsed = time.process_time() - start
    assert result.n == 100_000 and result.k == 36
    # independent items: all ICCs near 0
    assert abs(result.table.loc["ICC1", "icc"]) < 0.01
    assert elapsed < 3.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 40), k=st.integers(2, 5),
       shift=st.floats(-5, 5, allow_nan=False))
def test_icc_invariances(seed, n, k, shift):
    # McGraw & Wong (1996): consistency forms (ICC3, ICC3k) ignore a constant added to one
    # rater (a rater's bias only enters MSJ); every form ignores the order of raters.
    rng = np.random.default_rng(seed)
    wide = pd.DataFrame(rng.normal(size=(n, 1)) + rng.normal(0, 0.7, size=(n, k)))
    base = icc(wide).table
    shifted = wide.copy()
    shifted[0] = shifted[0] + shift
    moved = icc(shifted).table
    for form in ("ICC3", "ICC3k"):
        assert moved.loc[form, "icc"] == pytest.approx(base.loc[form, "icc"], abs=1e-9)
    permuted = icc(wide[wide.columns[::-1]]).table
    pd.testing.assert_frame_equal(permuted, base, atol=1e-9)
