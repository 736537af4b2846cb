"""Ordinal CFA (DWLS on polychorics, WLSMV inference) against lavaan 0.6-14.

Reference values: ``data/make_ordinal_reference.R`` (R 4.2.2, lavaan 0.6-14) ->
``data/ordinal_reference.json``: ``cfa(model, data = bfi, ordered = <items>, std.lv = TRUE)``
(estimator WLSMV, test "scaled.shifted", parameterization "delta"), its ``fitMeasures``,
``parameterEstimates`` (robust SEs), ``standardizedSolution`` and ``lavInspect(fit,
"gamma")``. Data: psych::bfi (Revelle et al. 2010), ``bfi25.csv``.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import cfa
from scoring.psychometrics.polychoric import code_items
from scoring.psychometrics.wlsmv import ordinal_stats

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "ordinal_reference.json").read_text())["wlsmv"]
ACE = {f: [f"{f}{i}" for i in range(1, 6)] for f in "ACE"}
FIT_KEYS = {
    "chisq": "chi2", "df": "df", "chisq.scaled": "chi2_scaled",
    "chisq.scaling.factor": "scaling_factor", "baseline.chisq": "baseline_chi2",
    "baseline.df": "baseline_df", "baseline.chisq.scaled": "baseline_chi2_scaled",
    "cfi": "cfi", "tli": "tli", "rmsea": "rmsea", "cfi.scaled": "cfi_scaled",
    "tli.scaled": "tli_scaled", "rmsea.scaled": "rmsea_scaled", "srmr": "srmr",
    "rmsea.ci.lower": "rmsea_ci_low", "rmsea.ci.upper": "rmsea_ci_high",
    "rmsea.ci.lower.scaled": "rmsea_ci_low_scaled",
    "rmsea.ci.upper.scaled": "rmsea_ci_high_scaled",
}  # fmt: skip


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi25.csv")


def _check_fit(res, ref) -> None:
    fit = res.fit_indices()
    assert res.n == ref["n"]
    for lav, ours in FIT_KEYS.items():
        expected = ref["fit"][lav]
        # chi-squares to 1e-6 relative (they are in the thousands), indices to 1e-6 absolute
        tol = 1e-6 * max(1.0, abs(expected)) if "chisq" in lav else 1e-6
        assert fit[ours] == pytest.approx(expected, abs=tol), lav


def _signed(values: np.ndarray, factors: np.ndarray) -> np.ndarray:
    # openprom reports each factor with loadings summing positive; lavaan's sign is arbitrary
    out = values.copy()
    for f in set(factors):
        if out[factors == f].sum() < 0:
            out[factors == f] *= -1
    return out


def _check_loadings(res, ref) -> None:
    lav = ref["loadings"]
    assert list(res.loadings["item"]) == lav["item"]
    std = _signed(np.array(lav["std_all"]), np.array(lav["factor"]))
    np.testing.assert_allclose(res.loadings["std_all"], std, atol=1e-5)
    np.testing.assert_allclose(res.loadings["se"], lav["se"], atol=2e-5)


def test_nacov_matches_lavaan_gamma(bfi):
    # lavInspect(fit, "gamma"): asymptotic covariance of thresholds + polychorics (muthen1984)
    data = bfi[sum(ACE.values(), [])].dropna()
    st = ordinal_stats(code_items(data))
    ref_diag = np.array(REF["bfi_ACE_gamma_diag"])
    np.testing.assert_allclose(np.diag(st.gamma), ref_diag, rtol=1e-6)
    first = np.array(REF["bfi_ACE_gamma_first"]).reshape(40, 40, order="F")
    np.testing.assert_allclose(st.gamma[:40, :40], first, atol=1e-6)


def test_wlsmv_three_factors_matches_lavaan(bfi):
    res = cfa(bfi, ACE, ordered=True)
    assert res.estimator == "WLSMV" and res.test == "scaled.shifted"
    _check_fit(res, REF["bfi_ACE"])
    _check_loadings(res, REF["bfi_ACE"])
    lav = REF["bfi_ACE"]["covariances"]
    phi = res.factor_correlations
    signs = {
        f: 1.0
        if np.sum(
            np.array(REF["bfi_ACE"]["loadings"]["std_all"])[
                np.array(REF["bfi_ACE"]["loadings"]["factor"]) == f
            ]
        )
        > 0
        else -1.0
        for f in "ACE"
    }
    for a, b, est in zip(lav["lhs"], lav["rhs"], lav["est"], strict=True):
        assert phi.loc[a, b] == pytest.approx(est * signs[a] * signs[b], abs=1e-5)
    taus = REF["bfi_ACE"]["thresholds"]["est"]
    np.testing.assert_allclose(res.thresholds["estimate"], taus, atol=1e-10)
    assert res.converged


def test_wlsmv_one_factor_matches_lavaan(bfi):
    res = cfa(bfi, {"N": [f"N{i}" for i in range(1, 6)]}, estimator="WLSMV")
    _check_fit(res, REF["bfi_N"])
    _check_loadings(res, REF["bfi_N"])


def test_wlsmv_with_residual_covariances_matches_lavaan(bfi):
    res = cfa(bfi, ACE, ordered=True, residual_covariances=[("E1", "E2"), ("A4", "C1")])
    ref = REF["bfi_ACE_rc"]
    _check_fit(res, ref)
    _check_loadings(res, ref)
    rc = res.residual_covariances
    lav = ref["covariances"]
    assert list(rc["item1"]) == ["E1", "A4"] and list(rc["item2"]) == ["E2", "C1"]
    np.testing.assert_allclose(rc["estimate"], lav["est"][:2], atol=1e-5)
    np.testing.assert_allclose(rc["std_all"], lav["std_all"][:2], atol=1e-5)
    np.testing.assert_allclose(rc["se"], lav["se"][:2], atol=2e-5)


def test_ordered_needs_all_items_and_wlsmv(bfi):
    with pytest.raises(ValueError, match="not ordered: A2"):
        cfa(bfi, {"A": ["A1", "A2", "A3"]}, ordered=["A1", "A3"])
    with pytest.raises(ValueError, match="estimator"):
        cfa(bfi, {"A": ["A1", "A2", "A3"]}, ordered=True, estimator="ML")
    with pytest.raises(ValueError, match="unknown estimator"):
        cfa(bfi, {"A": ["A1", "A2", "A3"]}, estimator="ULS")
