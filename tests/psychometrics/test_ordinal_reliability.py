"""Ordinal alpha / ordinal omega (polychoric) against psych 2.2.9, and omega's bootstrap CI.

Reference values: ``data/make_ordinal_reliability_reference.R`` ->
``data/ordinal_reliability_reference.json``: ``alpha(polychoric(x)$rho)`` (Zumbo,
Gadermann & Zeisser 2007) and ``omega(x, nfactors = 2, poly = TRUE)`` on psych::bfi
agreeableness (A1 reversed) and conscientiousness (C4, C5 reversed), ``bfi25.csv``.
psych's polychorics come from R's ``optimize`` (tolerance ~1e-4), hence 2e-5.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from scoring.psychometrics import omega, ordinal_alpha

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "ordinal_reliability_reference.json").read_text())


@pytest.fixture(scope="module")
def scales() -> dict[str, pd.DataFrame]:
    b = pd.read_csv(DATA / "bfi25.csv")
    a = b[[f"A{i}" for i in range(1, 6)]].copy()
    a["A1"] = 7 - a["A1"]
    c = b[[f"C{i}" for i in range(1, 6)]].copy()
    c[["C4", "C5"]] = 7 - c[["C4", "C5"]]
    return {"A": a, "C": c, "AC": pd.concat([a, c], axis=1)}


def test_ordinal_alpha_matches_psych(scales):
    assert ordinal_alpha(scales["A"]).value == pytest.approx(REF["alpha_A"], abs=2e-5)
    assert ordinal_alpha(scales["C"]).value == pytest.approx(REF["alpha_C"], abs=2e-5)
    listwise = ordinal_alpha(scales["A"], missing="listwise")
    assert listwise.value == pytest.approx(REF["alpha_A_listwise"], abs=2e-5)
    assert "ordinal alpha" in listwise.method


@pytest.mark.parametrize("key", ["A", "C", "AC"])
def test_ordinal_omega_matches_psych_poly_true(scales, key):
    ref = REF[f"omega_{key}_2"]
    res = omega(scales[key], n_factors=2, missing="pairwise", correlation_type="polychoric")
    assert res.correlation == "polychoric"
    assert res.omega_hierarchical == pytest.approx(ref["omega_h"], abs=3e-5)
    assert res.omega_total == pytest.approx(ref["omega_tot"], abs=3e-5)


def test_omega_bootstrap_ci_is_reproducible_and_brackets_the_estimate(scales):
    # percentile bootstrap (Efron & Tibshirani 1993); no R reference (resampling differs)
    a = omega(scales["A"], n_factors=1, missing="listwise", n_boot=30, seed=3)
    b = omega(scales["A"], n_factors=1, missing="listwise", n_boot=30, seed=3)
    assert a.omega_total_ci == b.omega_total_ci
    low, high = a.omega_total_ci
    assert low < a.omega_total < high and high - low < 0.1
    assert "percentile bootstrap" in a.to_dict()["ci_method"]
    assert omega(scales["A"], n_factors=1).omega_total_ci is None
