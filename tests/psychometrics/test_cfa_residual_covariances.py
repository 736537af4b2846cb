"""ML CFA with correlated residuals: lavaan's PoliticalDemocracy measurement model.

Data: Bollen (1989) PoliticalDemocracy as shipped with lavaan, exported to
``data/political_democracy.csv`` by ``data/make_ordinal_reference.R``; reference values
from lavaan 0.6-14 ``cfa(pd_model, std.lv = TRUE)`` in ``data/ordinal_reference.json``
(the model of the lavaan tutorial's SEM example, measurement part only).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import cfa

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "ordinal_reference.json").read_text())["ml"]["political_democracy"]
MODEL = {"ind60": ["x1", "x2", "x3"], "dem60": ["y1", "y2", "y3", "y4"],
         "dem65": ["y5", "y6", "y7", "y8"]}  # fmt: skip
RESID = [("y1", "y5"), ("y2", "y4"), ("y2", "y6"), ("y3", "y7"), ("y4", "y8"), ("y6", "y8")]


@pytest.fixture(scope="module")
def fit():
    return cfa(pd.read_csv(DATA / "political_democracy.csv"), MODEL, residual_covariances=RESID)


def test_fit_measures_match_lavaan(fit):
    ref = REF["fit"]
    assert fit.df == ref["df"] == 35
    assert fit.chi2 == pytest.approx(ref["chisq"], abs=1e-6)
    assert fit.p == pytest.approx(ref["pvalue"], abs=1e-8)
    assert fit.baseline_chi2 == pytest.approx(ref["baseline.chisq"], abs=1e-6)
    for ours, lav in [
        ("cfi", "cfi"),
        ("tli", "tli"),
        ("rmsea", "rmsea"),
        ("srmr", "srmr"),
        ("rmsea_ci_low", "rmsea.ci.lower"),
        ("rmsea_ci_high", "rmsea.ci.upper"),
    ]:
        assert getattr(fit, ours) == pytest.approx(ref[lav], abs=1e-6), ours


def test_loadings_and_residual_covariances_match_lavaan(fit):
    np.testing.assert_allclose(fit.loadings["std_all"], REF["loadings"]["std_all"], atol=1e-5)
    np.testing.assert_allclose(fit.loadings["estimate"], REF["loadings"]["est"], atol=1e-4)
    rc = fit.residual_covariances
    cov = REF["covariances"]
    np.testing.assert_allclose(rc["estimate"], cov["est"][:6], atol=1e-4)
    np.testing.assert_allclose(rc["std_all"], cov["std_all"][:6], atol=1e-5)
    assert [tuple(x) for x in rc[["item1", "item2"]].to_numpy()] == RESID
    phi = fit.factor_correlations
    assert phi.loc["dem60", "dem65"] == pytest.approx(cov["est"][8], abs=1e-5)


def test_bad_residual_covariances_are_refused():
    data = pd.read_csv(DATA / "political_democracy.csv")
    with pytest.raises(ValueError, match="not an item"):
        cfa(data, MODEL, residual_covariances=[("y1", "x9")])
    with pytest.raises(ValueError, match="two different"):
        cfa(data, MODEL, residual_covariances=[("y1", "y1")])
    with pytest.raises(ValueError, match="twice"):
        cfa(data, MODEL, residual_covariances=[("y1", "y5"), ("y5", "y1")])
