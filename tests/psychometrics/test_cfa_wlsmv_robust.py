"""lavaan's robust CFI/TLI/RMSEA for ordinal CFA (``cfa(..., ordered=True)``).

Reference: lavaan 0.6-14 (R 4.2.2) ``fitMeasures(fit, c("cfi.robust", "tli.robust",
"rmsea.robust"))`` of ``cfa(model, data, ordered = items, std.lv = TRUE)`` (WLSMV), which
lavaan computes by the catML approach (Savalei 2021, "Improving fit indices in structural
equation modeling with categorical data", Multivariate Behavioral Research 56, 390-407);
values from data/make_wlsmv_robust_reference.R (data/wlsmv_robust_reference.json) on
psych::bfi (Revelle, Wilt & Rosenthal 2010; data/bfi_report_data.csv).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scoring.psychometrics import cfa

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "wlsmv_robust_reference.json").read_text())
ACE = {f: [f"{f}{i}" for i in range(1, 6)] for f in ("A", "C", "E")}
CASES = {
    "bfi_N": ({"N": [f"N{i}" for i in range(1, 6)]}, ()),
    "bfi_ACE": (ACE, ()),
    "bfi_ACE_rc": (ACE, (("E1", "E2"), ("A4", "C1"))),
}


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi_report_data.csv")


@pytest.mark.parametrize("case", sorted(CASES))
def test_robust_indices_agree_with_lavaan(bfi, case):
    model, rc = CASES[case]
    items = [i for cols in model.values() for i in cols]
    fit = cfa(bfi[items], model, ordered=True, residual_covariances=list(rc))
    ref = REF[case]
    assert fit.n == ref["n"] and fit.df == ref["df"]
    assert fit.chi2 == pytest.approx(ref["chisq"], rel=1e-6)
    assert fit.cfi_robust == pytest.approx(ref["cfi.robust"], abs=1e-6)
    assert fit.tli_robust == pytest.approx(ref["tli.robust"], abs=1e-6)
    assert fit.rmsea_robust == pytest.approx(ref["rmsea.robust"], abs=1e-6)
    indices = fit.fit_indices()
    assert indices["cfi_robust"] == fit.cfi_robust
    assert indices["rmsea_robust"] == fit.rmsea_robust
