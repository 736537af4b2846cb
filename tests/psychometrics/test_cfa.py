"""Tests of the ML confirmatory factor analysis against lavaan.

Data: Holzinger & Swineford (1939), as shipped with R lavaan (``HolzingerSwineford1939``),
exported to ``data/holzinger_swineford_1939.csv`` with
``Rscript -e 'library(lavaan); write.csv(HolzingerSwineford1939, ..., row.names=FALSE)'``.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import cfa

DATA = Path(__file__).parent / "data" / "holzinger_swineford_1939.csv"
THREE_FACTORS = {
    "visual": ["x1", "x2", "x3"],
    "textual": ["x4", "x5", "x6"],
    "speed": ["x7", "x8", "x9"],
}


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def hs_fit(hs):
    return cfa(hs, THREE_FACTORS)


def test_hs1939_fit_matches_lavaan_tutorial(hs_fit):
    # lavaan tutorial, "A first example: CFA" (https://lavaan.ugent.be/tutorial/cfa.html):
    # chisq 85.306, df 24, CFI 0.931, TLI 0.896, RMSEA 0.092 (90% CI 0.071-0.114), SRMR 0.065.
    r = hs_fit
    assert r.n == 301
    assert r.df == 24
    assert r.chi2 == pytest.approx(85.306, abs=5e-4)
    assert r.cfi == pytest.approx(0.931, abs=5e-4)
    assert r.tli == pytest.approx(0.896, abs=5e-4)
    assert r.rmsea == pytest.approx(0.092, abs=5e-4)
    assert r.rmsea_ci == pytest.approx((0.071, 0.114), abs=5e-4)
    assert r.srmr == pytest.approx(0.065, abs=5e-4)
    assert r.converged


def test_hs1939_fit_matches_lavaan_to_six_decimals(hs_fit):
    # R 4.2.2, lavaan 0.6-14: fitMeasures(cfa(HS.model, HolzingerSwineford1939)) printed
    # with sprintf("%.8f"): chisq 85.30552177, pvalue 0.00000001, cfi 0.93055965,
    # tli 0.89583948, rmsea 0.09212148 [0.07141849, 0.11367802], srmr 0.06520506,
    # baseline.chisq 918.85158929 (df 36).
    r = hs_fit
    assert r.chi2 == pytest.approx(85.30552177, abs=1e-5)
    assert r.cfi == pytest.approx(0.93055965, abs=1e-6)
    assert r.tli == pytest.approx(0.89583948, abs=1e-6)
    assert r.rmsea == pytest.approx(0.09212148, abs=1e-6)
    assert r.rmsea_ci_low == pytest.approx(0.07141849, abs=1e-6)
    assert r.rmsea_ci_high == pytest.approx(0.11367802, abs=1e-6)
    assert r.srmr == pytest.approx(0.06520506, abs=1e-6)
    assert r.baseline_chi2 == pytest.approx(918.85158929, abs=1e-4)
    assert r.baseline_df == 36
    assert r.p < 1e-7


def test_hs1939_standardized_solution_matches_lavaan_std_all(hs_fit):
    # R 4.2.2, lavaan 0.6-14: standardizedSolution(fit)$est.std ("std.all").
    expected = {
        "x1": 0.77188042, "x2": 0.42360099, "x3": 0.58113232,
        "x4": 0.85158222, "x5": 0.85506545, "x6": 0.83801007,
        "x7": 0.56951468, "x8": 0.72304443, "x9": 0.66500922,
    }  # fmt: skip
    got = dict(zip(hs_fit.loadings["item"], hs_fit.loadings["std_all"], strict=True))
    for item, value in expected.items():
        assert got[item] == pytest.approx(value, abs=1e-5), item
    phi = hs_fit.factor_correlations
    assert phi.loc["visual", "textual"] == pytest.approx(0.45850930, abs=1e-5)
    assert phi.loc["visual", "speed"] == pytest.approx(0.47053454, abs=1e-5)
    assert phi.loc["textual", "speed"] == pytest.approx(0.28298473, abs=1e-5)
    resid = dict(zip(hs_fit.residual_variances["item"], hs_fit.residual_variances["std_all"],
                     strict=True))
    assert resid["x1"] == pytest.approx(0.40420062, abs=1e-5)
    assert resid["x9"] == pytest.approx(0.55776274, abs=1e-5)


def test_cross_loading_model_matches_lavaan(hs):
    # R 4.2.2, lavaan 0.6-14: cfa("visual =~ x1+x2+x3+x9; textual =~ x4+x5+x6;
    # speed =~ x7+x8+x9", HolzingerSwineford1939): chisq 52.382115, df 23, cfi 0.966719,
    # tli 0.947908, rmsea 0.065147 [0.041801, 0.088631], srmr 0.045129;
    # std.all visual=~x9 0.383818, speed=~x9 0.446513, speed=~x8 0.795467.
    model = dict(THREE_FACTORS, visual=["x1", "x2", "x3", "x9"])
    r = cfa(hs, model)
    assert r.df == 23
    assert r.chi2 == pytest.approx(52.382115, abs=1e-4)
    assert r.cfi == pytest.approx(0.966719, abs=1e-6)
    assert r.tli == pytest.approx(0.947908, abs=1e-6)
    assert r.rmsea == pytest.approx(0.065147, abs=1e-6)
    assert r.rmsea_ci == pytest.approx((0.041801, 0.088631), abs=1e-6)
    assert r.srmr == pytest.approx(0.045129, abs=1e-6)
    lo = r.loadings.set_index(["factor", "item"])["std_all"]
    assert lo[("visual", "x9")] == pytest.approx(0.383818, abs=1e-5)
    assert lo[("speed", "x9")] == pytest.approx(0.446513, abs=1e-5)
    assert lo[("speed", "x8")] == pytest.approx(0.795467, abs=1e-5)


def test_listwise_deletion_drops_incomplete_rows(hs):
    data = hs.copy()
    data.loc[:9, "x1"] = np.nan
    r = cfa(data, THREE_FACTORS)
    assert r.n == 291


def test_to_dict_is_json_ready(hs_fit):
    import json

    d = hs_fit.to_dict()
    json.dumps(d)
    assert d["df"] == 24
    assert len(d["loadings"]) == 9
    assert "std.lv" in d["identification"]


def test_bad_models_raise_clear_errors(hs):
    with pytest.raises(ValueError, match="not a column"):
        cfa(hs, {"f": ["x1", "nope"]})
    with pytest.raises(ValueError, match="at least two items"):
        cfa(hs, {"f": ["x1"], "g": ["x2", "x3"]})
    with pytest.raises(ValueError, match="non-empty dict"):
        cfa(hs, {})
    with pytest.raises(ValueError, match="not identified"):
        cfa(hs, {"f": ["x1", "x2"]})
    with pytest.raises(ValueError, match="not supported"):
        cfa(hs, THREE_FACTORS, missing="ml")


def test_eight_factor_model_with_two_item_factors_matches_lavaan():
    # data/rand36_like_simulated_1000.csv: 1000 simulated RAND-36-like responses (printed
    # codes, not re-keyed; bench/psychometrics.py simulate_rand36(1000, seed=2024), columns
    # id, sex, q02 dropped). R 4.2.2, lavaan 0.6-14, cfa() of the eight RAND-36 scales:
    # chisq 674.064708, df 532, cfi 0.991772, tli 0.990797, rmsea 0.016341
    # [0.012237, 0.019991], srmr 0.020444; std.all SF=~q20 0.717208, SF=~q32 -0.748220,
    # BP=~q21 0.752503, GH=~q34 0.745363. Loadings are sign-free up to a factor's
    # reflection, so the signs are compared within SF.
    data = pd.read_csv(Path(__file__).parent / "data" / "rand36_like_simulated_1000.csv")
    model = {
        "PF": [f"q{i:02d}" for i in range(3, 13)],
        "RP": ["q13", "q14", "q15", "q16"],
        "RE": ["q17", "q18", "q19"],
        "SF": ["q20", "q32"],
        "BP": ["q21", "q22"],
        "VT": ["q23", "q27", "q29", "q31"],
        "MH": ["q24", "q25", "q26", "q28", "q30"],
        "GH": ["q01", "q33", "q34", "q35", "q36"],
    }
    r = cfa(data, model)
    assert r.df == 532
    assert r.chi2 == pytest.approx(674.064708, abs=1e-3)
    assert r.cfi == pytest.approx(0.991772, abs=1e-6)
    assert r.tli == pytest.approx(0.990797, abs=1e-6)
    assert r.rmsea == pytest.approx(0.016341, abs=1e-6)
    assert r.rmsea_ci == pytest.approx((0.012237, 0.019991), abs=1e-6)
    assert r.srmr == pytest.approx(0.020444, abs=1e-6)
    lo = r.loadings.set_index(["factor", "item"])["std_all"]
    assert abs(lo[("SF", "q20")]) == pytest.approx(0.717208, abs=1e-5)
    assert abs(lo[("SF", "q32")]) == pytest.approx(0.748220, abs=1e-5)
    assert np.sign(lo[("SF", "q20")]) == -np.sign(lo[("SF", "q32")])
    assert abs(lo[("BP", "q21")]) == pytest.approx(0.752503, abs=1e-5)
    assert abs(lo[("GH", "q34")]) == pytest.approx(0.745363, abs=1e-5)
