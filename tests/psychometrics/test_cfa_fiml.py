"""CFA with missing data by full-information ML against lavaan 0.6-14 (missing = "ml").

Reference values: ``data/make_fiml_reference.R`` -> ``data/fiml_reference.json``: lavaan's
HolzingerSwineford1939 x1-x9 with 10 % of the values deleted at random in R
(``set.seed(2026)``; ``holzinger_swineford_mcar.csv``), ``cfa(HS.model, missing = "ml",
std.lv = TRUE)``.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import cfa

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "fiml_reference.json").read_text())
HS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA / "holzinger_swineford_mcar.csv")


def test_fiml_matches_lavaan_missing_ml(data):
    res = cfa(data, HS, missing="fiml")
    ref = REF["fit"]
    assert res.n == REF["n"] == 301  # every row with an answer, not only complete rows
    assert res.df == ref["df"]
    assert res.chi2 == pytest.approx(ref["chisq"], abs=1e-6)
    assert res.baseline_chi2 == pytest.approx(ref["baseline.chisq"], abs=1e-6)
    for ours, lav in [
        ("cfi", "cfi"),
        ("tli", "tli"),
        ("rmsea", "rmsea"),
        ("srmr", "srmr"),
        ("rmsea_ci_low", "rmsea.ci.lower"),
        ("rmsea_ci_high", "rmsea.ci.upper"),
    ]:
        assert getattr(res, ours) == pytest.approx(ref[lav], abs=1e-6), ours
    np.testing.assert_allclose(res.loadings["std_all"], REF["loadings"]["std_all"], atol=1e-5)
    np.testing.assert_allclose(res.loadings["estimate"], REF["loadings"]["est"], atol=1e-5)
    np.testing.assert_allclose(res.intercepts["estimate"], REF["intercepts"], atol=1e-5)
    phi = res.factor_correlations
    assert phi.loc["visual", "textual"] == pytest.approx(REF["phi"][0], abs=1e-5)
    assert res.to_dict()["missing"] == "fiml"


def test_fiml_equals_ml_on_complete_data():
    # with no missing values FIML and ML coincide (lavaan tutorial: chisq 85.306, df 24)
    hs = pd.read_csv(DATA / "holzinger_swineford_1939.csv")
    a, b = cfa(hs, HS), cfa(hs, HS, missing="fiml")
    assert b.chi2 == pytest.approx(a.chi2, abs=1e-5) == pytest.approx(85.306, abs=5e-4)
    assert b.cfi == pytest.approx(a.cfi, abs=1e-7)


def test_fiml_needs_ml(data):
    with pytest.raises(ValueError, match="fiml"):
        cfa(data, HS, missing="fiml", estimator="WLSMV")
