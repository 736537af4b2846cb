"""Robust ML (MLR) CFA against lavaan 0.6-14 ``estimator = "MLR"``.

Reference values: ``data/make_mlr_reference.R`` -> ``data/mlr_reference.json``
(``fitMeasures``: Yuan-Bentler (Mplus) scaled chi-square and scaling factor, scaled and
robust CFI/TLI/RMSEA; robust.huber.white SEs). Data: HolzingerSwineford1939 (lavaan) and
the PoliticalDemocracy measurement model with six correlated residuals (Bollen 1989).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import cfa

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "mlr_reference.json").read_text())
KEYS = {
    "chisq": "chi2", "chisq.scaled": "chi2_scaled", "chisq.scaling.factor": "scaling_factor",
    "baseline.chisq": "baseline_chi2", "baseline.chisq.scaled": "baseline_chi2_scaled",
    "cfi": "cfi", "tli": "tli", "rmsea": "rmsea", "cfi.scaled": "cfi_scaled",
    "tli.scaled": "tli_scaled", "rmsea.scaled": "rmsea_scaled", "cfi.robust": "cfi_robust",
    "tli.robust": "tli_robust", "rmsea.robust": "rmsea_robust", "srmr": "srmr",
    "pvalue.scaled": "p_scaled",
}  # fmt: skip
CASES = {
    "hs": ("holzinger_swineford_1939.csv",
           {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
            "speed": ["x7", "x8", "x9"]}, None),
    "pd": ("political_democracy.csv",
           {"ind60": ["x1", "x2", "x3"], "dem60": ["y1", "y2", "y3", "y4"],
            "dem65": ["y5", "y6", "y7", "y8"]},
           [("y1", "y5"), ("y2", "y4"), ("y2", "y6"), ("y3", "y7"), ("y4", "y8"), ("y6", "y8")]),
}  # fmt: skip


@pytest.mark.parametrize("key", ["hs", "pd"])
def test_mlr_matches_lavaan(key):
    path, model, resid = CASES[key]
    res = cfa(pd.read_csv(DATA / path), model, estimator="MLR", residual_covariances=resid)
    fit = res.fit_indices()
    assert res.estimator == "MLR" and res.test == "yuan.bentler.mplus"
    for lav, ours in KEYS.items():
        expected = REF[key]["fit"][lav]
        # the scaling factor rests on a numerical Hessian (central differences): 1e-6
        tol = 2e-5 if "chisq" in lav else 1e-6
        assert fit[ours] == pytest.approx(expected, abs=tol), lav
    np.testing.assert_allclose(res.loadings["se"], REF[key]["loadings_se"], atol=1e-5)
