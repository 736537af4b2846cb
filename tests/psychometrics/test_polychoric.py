"""Polychoric and tetrachoric correlations against R psych 2.2.9.

Reference values: ``data/make_ordinal_reference.R`` (R 4.2.2, psych 2.2.9, psychTools
2.2.9) -> ``data/ordinal_reference.json``. Data: psych::bfi (25 six-category items,
``bfi25.csv``) and psychTools::ability (16 dichotomous items, ``ability16.csv``).
psych maximises each pair's likelihood with R's ``optimize`` (tolerance ~1e-4 on rho),
so correlations agree to ~3e-5; thresholds are closed-form and agree to 1e-12.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scoring.psychometrics.polychoric import bivariate_normal_cdf, polychoric, tetrachoric

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "ordinal_reference.json").read_text())


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi25.csv")


def _thresholds(res) -> np.ndarray:
    return np.array([res.thresholds[c] for c in res.correlations.columns])


def test_bivariate_normal_cdf_matches_scipy():
    # scipy.stats.multivariate_normal.cdf (Genz's algorithm) as an independent reference
    rng = np.random.default_rng(7)
    h, k = rng.normal(size=(2, 60)) * 1.5
    rho = rng.uniform(-0.995, 0.995, size=60)
    got = bivariate_normal_cdf(h, k, rho)
    for a, b, r, g in zip(h, k, rho, got, strict=True):
        ref = stats.multivariate_normal(cov=[[1, r], [r, 1]]).cdf([a, b])
        assert g == pytest.approx(ref, abs=1e-7)


@pytest.mark.parametrize("key,listwise", [("bfi25_pairwise", False), ("bfi25_listwise", True)])
def test_polychoric_bfi_matches_psych(bfi, key, listwise):
    # psych::polychoric(bfi[, 1:25], correct = 0, smooth = FALSE) (pairwise) and on na.omit
    ref = REF["polychoric"][key]
    res = polychoric(bfi.dropna() if listwise else bfi)
    np.testing.assert_allclose(res.correlations.to_numpy(), np.array(ref["rho"]), atol=1e-4)
    np.testing.assert_allclose(_thresholds(res), np.array(ref["tau"]), atol=1e-10)
    assert res.n.loc["A1", "A2"] == bfi[["A1", "A2"]].dropna().shape[0] or listwise


def test_psych_polychoric_ignores_correct_with_global_thresholds(bfi):
    # psych::polychoric(correct = 0.5) with its default global = TRUE gives the same matrix
    # as correct = 0 (polyc applies `correct` only when global = FALSE), so openprom's
    # correct=0 reproduces psych's default call.
    ref = REF["polychoric"]["bfi25_correct05"]
    res = polychoric(bfi)
    np.testing.assert_allclose(res.correlations.to_numpy(), np.array(ref["rho"]), atol=1e-4)


@pytest.mark.parametrize("correct", [0.0, 0.5])
def test_tetrachoric_ability_matches_psych(correct):
    # psych::tetrachoric(psychTools::ability, correct = 0 / 0.5, smooth = FALSE); no 2 x 2
    # table of these items has an empty cell, so both agree
    ab = pd.read_csv(DATA / "ability16.csv")
    ref = REF["tetrachoric"][f"ability_correct{'0' if correct == 0 else '05'}"]
    res = tetrachoric(ab, correct=correct)
    np.testing.assert_allclose(res.correlations.to_numpy(), np.array(ref["rho"]), atol=1e-4)
    np.testing.assert_allclose(_thresholds(res).ravel(), np.array(ref["tau"]), atol=1e-10)


def test_tetrachoric_empty_cell_continuity_correction_as_psych():
    # psych::tetrachoric on a table with an empty cell (x = 1, y = 0): correct = 0.5 puts
    # 0.5 in that cell (psych's default); correct = 0 is the plain ML estimate (lavaan).
    # Without the correction the ML estimate of r(x, y) is on the boundary (+1): psych's
    # optimize stops at 0.9984, openprom at its bound 0.99999 and says so in `notes`.
    data = pd.DataFrame(REF["tetrachoric"]["zero_data"])
    ref = np.array(REF["tetrachoric"]["zero_correct05"]["rho"])
    res = tetrachoric(data, correct=0.5)
    np.testing.assert_allclose(res.correlations.to_numpy(), ref, atol=1e-4)
    ref0 = np.array(REF["tetrachoric"]["zero_correct0"]["rho"])
    res0 = tetrachoric(data, correct=0.0)
    assert ref0[0, 1] > 0.998 and res0.correlations.iloc[0, 1] > 0.9999
    np.testing.assert_allclose(res0.correlations.iloc[2, :2], ref0[2, :2], atol=1e-4)
    assert any("+/-1" in note for note in res0.notes)


def test_polychoric_bad_input_is_refused():
    with pytest.raises(ValueError, match="non-numeric"):
        polychoric(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}))
    with pytest.raises(ValueError, match="infinite"):
        polychoric(pd.DataFrame({"a": [1, 2, np.inf], "b": [1, 2, 3]}))
    with pytest.raises(ValueError, match="fewer than 2"):
        polychoric(pd.DataFrame({"a": [1, 1, 1], "b": [1, 2, 3]}))
    with pytest.raises(ValueError, match="dichotomous"):
        tetrachoric(pd.DataFrame({"a": [0, 1, 2], "b": [0, 1, 1]}))
