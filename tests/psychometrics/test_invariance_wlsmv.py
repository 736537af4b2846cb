"""Multi-group WLSMV invariance (``invariance(..., estimator="WLSMV")``) against lavaan.

Reference: lavaan 0.6-14 (R 4.2.2), ``cfa(model, data, ordered = items, group = g,
std.lv = TRUE, group.equal = c("loadings", "thresholds"))`` with lavaan's defaults
(WLSMV, delta parameterization, scaled-shifted test) and ``lavTestLRT`` (method
"satorra.2000"), computed by data/make_invariance_wlsmv_reference.R into
data/invariance_wlsmv_reference.json. Data: psych::bfi (Revelle, Wilt & Rosenthal 2010;
data/bfi_report_data.csv): Agreeableness + Conscientiousness by gender (2 groups), and
Neuroticism by three age groups (<= 20, 21-30, > 30).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import invariance

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "invariance_wlsmv_reference.json").read_text())
TOL = 1e-5  # absolute (chi-squares: relative 1e-6); the data agree to ~1e-7
AC = {"A": [f"A{i}" for i in range(1, 6)], "C": [f"C{i}" for i in range(1, 6)]}
LEVELS = ("configural", "metric", "scalar")
LAVAAN = {
    "chisq": "chi2",
    "pvalue": "p",
    "chisq.scaled": "chi2_scaled",
    "pvalue.scaled": "p_scaled",
    "chisq.scaling.factor": "scaling_factor",
    "cfi": "cfi",
    "tli": "tli",
    "rmsea": "rmsea",
    "cfi.scaled": "cfi_scaled",
    "tli.scaled": "tli_scaled",
    "rmsea.scaled": "rmsea_scaled",
    "rmsea.ci.lower.scaled": "rmsea_ci_low_scaled",
    "rmsea.ci.upper.scaled": "rmsea_ci_high_scaled",
}


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    d = pd.read_csv(DATA / "bfi_report_data.csv")
    # the R script's cut(age, c(0, 20, 30, 100)): (0, 20], (20, 30], (30, 100]
    d["age_group"] = pd.cut(d["age"], [0, 20, 30, 100], labels=["le20", "21-30", "gt30"])
    d["age_group"] = d["age_group"].astype(str)
    return d


@pytest.fixture(scope="module")
def by_gender(bfi):
    return invariance(bfi, AC, "gender", estimator="WLSMV")


@pytest.fixture(scope="module")
def by_age(bfi):
    model = {"N": [f"N{i}" for i in range(1, 6)]}
    return invariance(bfi, model, "age_group", estimator="WLSMV")


def _check(res, ref) -> None:
    assert res.estimator == "WLSMV"
    assert res.groups == ref["groups"]
    assert list(res.table.index) == list(LEVELS)
    for level in LEVELS:
        row = res.table.loc[level]
        assert row["converged"]
        assert row["df"] == ref[level]["df"]
        for lav, ours in LAVAAN.items():
            assert row[ours] == pytest.approx(ref[level][lav], rel=1e-6, abs=TOL), (level, ours)
    steps = res.table.iloc[1:]
    np.testing.assert_allclose(steps["delta_chi2"], ref["lrt"]["chisq_diff"], rtol=1e-6)
    np.testing.assert_allclose(steps["delta_df"], ref["lrt"]["df_diff"])
    np.testing.assert_allclose(steps["delta_p"], ref["lrt"]["p"], atol=TOL)
    for k, level in enumerate(LEVELS[1:], start=1):
        prev = LEVELS[k - 1]
        d_cfi = ref[level]["cfi.scaled"] - ref[prev]["cfi.scaled"]
        assert res.table.loc[level, "delta_cfi"] == pytest.approx(d_cfi, abs=TOL)


def test_two_groups_two_factors_agree_with_lavaan(by_gender):
    _check(by_gender, REF["bfi_gender"])


def test_three_groups_one_factor_agree_with_lavaan(by_age):
    _check(by_age, REF["bfi_age3"])


def test_scalar_estimates_agree_with_lavaan(by_gender):
    est = REF["bfi_gender"]["scalar_estimates"]
    par = by_gender.parameters["scalar"]
    groups = list(par)
    first, second = par[groups[0]], par[groups[1]]
    np.testing.assert_allclose(
        first["loadings"].to_numpy()[first["loadings"].to_numpy() != 0], est["loadings"], atol=1e-5
    )
    np.testing.assert_allclose(first["thresholds"], est["thresholds"], atol=1e-5)
    # lavaan frees scale factors and factor means in group 2 when thresholds are equal
    np.testing.assert_allclose(second["scale_factors"], est["scale_factors"], atol=1e-5)
    np.testing.assert_allclose(second["factor_means"], est["latent_means"], atol=1e-5)
    np.testing.assert_allclose(
        np.diag(second["factor_covariances"]), est["factor_variances"][:2], atol=1e-5
    )
    np.testing.assert_allclose(first["scale_factors"], 1.0)
    np.testing.assert_allclose(first["factor_means"], 0.0)


def test_metric_loadings_agree_with_lavaan(by_gender):
    est = REF["bfi_gender"]["metric_estimates"]
    lam = by_gender.parameters["metric"]["male"]["loadings"].to_numpy()
    np.testing.assert_allclose(lam[lam != 0], est["loadings"], atol=1e-5)
    var2 = np.diag(by_gender.parameters["metric"]["female"]["factor_covariances"])
    np.testing.assert_allclose(var2, est["factor_variances"][:2], atol=1e-5)


def test_to_dict_names_the_estimator_and_the_test(by_gender):
    d = by_gender.to_dict()
    json.dumps(d)
    assert d["estimator"] == "WLSMV"
    assert [m["level"] for m in d["models"]] == list(LEVELS)
    assert any("satorra.2000" in note for note in d["notes"])


def test_strict_and_unknown_estimators_are_refused(bfi):
    with pytest.raises(ValueError, match="strict invariance is not defined for WLSMV"):
        invariance(bfi, AC, "gender", estimator="WLSMV", levels=["configural", "strict"])
    with pytest.raises(ValueError, match="estimator must be 'ML' or 'WLSMV'"):
        invariance(bfi, AC, "gender", estimator="MLR")


def test_a_category_missing_in_one_group_is_a_clear_error(bfi):
    d = bfi.dropna(subset=AC["A"] + AC["C"] + ["gender"]).copy()
    d.loc[(d["gender"] == "male") & (d["A1"] == 6), "A1"] = 5  # no 6 among men
    with pytest.raises(ValueError, match="item 'A1' has no answer 6 in group 'male'"):
        invariance(d, AC, "gender", estimator="WLSMV")
