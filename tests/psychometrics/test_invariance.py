"""Measurement invariance (multi-group ML CFA) against lavaan 0.6-14.

Reference values: ``data/make_invariance_reference.R`` -> ``data/invariance_reference.json``
(``cfa(model, group = ..., std.lv = TRUE, group.equal = ...)``, ``fitMeasures``,
``lavTestLRT``). Data: HolzingerSwineford1939 by school (lavaan; the lavaan tutorial's
"Measurement invariance" example: chisq 115.851 / 124.044 / 164.103, df 48 / 54 / 60) and
psych::bfi agreeableness + conscientiousness by gender (``bfi_report_data.csv``).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import invariance

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "invariance_reference.json").read_text())
HS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
AC = {"A": [f"A{i}" for i in range(1, 6)], "C": [f"C{i}" for i in range(1, 6)]}
LEVELS = ["configural", "metric", "scalar", "strict"]


def _check(res, ref) -> None:
    t = res.table
    assert list(t.index) == LEVELS
    for level in LEVELS:
        r = ref[level]
        row = t.loc[level]
        assert row["df"] == r["df"], level
        assert row["chi2"] == pytest.approx(r["chisq"], abs=1e-4), level
        for ours, lav in [
            ("cfi", "cfi"),
            ("tli", "tli"),
            ("rmsea", "rmsea"),
            ("rmsea_ci_low", "rmsea.ci.lower"),
            ("rmsea_ci_high", "rmsea.ci.upper"),
        ]:
            assert row[ours] == pytest.approx(r[lav], abs=1e-6), (level, ours)
        assert row["converged"]
    lrt = ref["lrt"]
    np.testing.assert_allclose(t["delta_chi2"].iloc[1:], lrt["chisq_diff"], atol=1e-4)
    np.testing.assert_array_equal(t["delta_df"].iloc[1:], lrt["df_diff"])
    np.testing.assert_allclose(t["delta_p"].iloc[1:], lrt["p"], atol=1e-6)


def test_holzinger_swineford_by_school_matches_lavaan():
    hs = pd.read_csv(DATA / "holzinger_swineford_1939.csv")
    res = invariance(hs, HS, "school")
    _check(res, REF["hs_school"])
    # lavaan tutorial numbers, to the printed 3 decimals
    assert list(res.table["chi2"].round(3))[:3] == [115.851, 124.044, 164.103]
    assert res.groups == {"Grant-White": 145, "Pasteur": 156}
    # scalar model: latent means of the second group (groups in order of appearance, as
    # lavaan: Pasteur is the reference group with means 0)
    assert list(res.groups) == ["Pasteur", "Grant-White"]
    means = res.parameters["scalar"]["Grant-White"]["factor_means"]
    np.testing.assert_allclose(means, REF["hs_school"]["scalar_means"][3:], atol=2e-4)


def test_bfi_by_gender_matches_lavaan():
    bfi = pd.read_csv(DATA / "bfi_report_data.csv")
    res = invariance(bfi, AC, "gender")
    _check(res, REF["bfi_gender"])
    assert "chen2007_invariant" in res.table.columns
    json.dumps(res.to_dict())


def test_invariance_bad_input():
    hs = pd.read_csv(DATA / "holzinger_swineford_1939.csv")
    with pytest.raises(ValueError, match="group column"):
        invariance(hs, HS, "nope")
    with pytest.raises(ValueError, match="ordinal items"):  # continuous scores: no WLSMV
        invariance(hs, HS, "school", estimator="WLSMV")
    with pytest.raises(ValueError, match="at least 2 groups"):
        invariance(hs.assign(one="a"), HS, "one")
    bad = hs.astype({"x1": object})
    bad.loc[0, "x1"] = "n/a"
    with pytest.raises(ValueError, match="non-numeric"):
        invariance(bad, HS, "school")
