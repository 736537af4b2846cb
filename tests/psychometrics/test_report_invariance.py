"""The report runs measurement invariance across language versions and modes.

Data: ``simulate_rand36`` from ``bench/psychometrics.py`` (seeded), with a language (nb /
nn / en) and a mode (self / paper) assigned at random, so the items measure the same
thing in every group by construction: every invariance step should hold by Chen's (2007)
cut-offs (ΔCFI > -0.010, ΔRMSEA < 0.015). The invariance numbers themselves are checked
against lavaan in test_invariance.py.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from scoring.psychometrics import build_report

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location(
    "bench_psychometrics", HERE.parents[1] / "bench" / "psychometrics.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
INSTRUMENT = str(HERE / "data" / "rand36_like_instrument.yaml")


@pytest.fixture(scope="module")
def report():
    data = bench.simulate_rand36(2400, seed=13)
    rng = np.random.default_rng(13)
    data["language"] = rng.choice(["nb", "nn", "en"], size=len(data), p=[0.6, 0.3, 0.1])
    data["mode"] = rng.choice(["self", "paper"], size=len(data))
    return build_report(data, INSTRUMENT, cfa_estimator="ML")


def test_invariance_across_language_and_mode(report):
    js = report.to_dict()
    json.dumps(js)
    inv = js["invariance"]
    assert set(inv) == {"language", "mode"}
    lang = inv["language"]
    assert set(lang["groups"]) == {"nb", "nn", "en"}
    assert sum(lang["groups"].values()) == js["structural_validity"]["n"]
    levels = [m["level"] for m in lang["models"]]
    assert levels == ["configural", "metric", "scalar", "strict"]
    # configural = the report's CFA model fitted in each group: G times its df
    # plus, with the mean structure, no extra df (p means, p intercepts)
    assert lang["models"][0]["df"] == 3 * js["structural_validity"]["df"]
    assert lang["chen2007_all_steps"] is True
    assert inv["mode"]["chen2007_all_steps"] is True
    page = report.to_html()
    assert "Measurement invariance" in page and "Across <b>language</b>" in page


def test_no_invariance_without_group_columns():
    data = bench.simulate_rand36(600, seed=14)
    js = build_report(data, INSTRUMENT, cfa_estimator="ML").to_dict()
    assert js["invariance"] == {}


DATA = HERE / "data"


def test_ordinal_items_get_wlsmv_invariance_as_lavaan():
    # psych::bfi's 25 items (6 categories) in the report, gender as the language column:
    # the report's CFA is WLSMV and so is the invariance, which must agree with lavaan
    # 0.6-14 cfa(ordered = TRUE, group = "gender", std.lv = TRUE, group.equal =
    # c("loadings", "thresholds")) and lavTestLRT (satorra.2000) on the five-factor model:
    # data/make_invariance_wlsmv_reference.R, entry bfi25_gender. (Keying items reverses
    # their categories: the fit does not change.)
    import pandas as pd

    ref = json.loads((DATA / "invariance_wlsmv_reference.json").read_text())["bfi25_gender"]
    data = pd.read_csv(DATA / "bfi_report_data.csv")
    data["language"] = data["gender"]
    rep = build_report(data, str(DATA / "bfi25_instrument.yaml"))
    js = rep.to_dict()
    assert js["structural_validity"]["estimator"] == "WLSMV"
    lang = js["invariance"]["language"]
    assert lang["estimator"] == "WLSMV" and lang["groups"] == ref["groups"]
    assert "satorra.2000" in lang["method"] and "thresholds" in lang["method"]
    models = {m["level"]: m for m in lang["models"]}
    assert list(models) == ["configural", "metric", "scalar"]
    for level, m in models.items():
        r = ref[level]
        assert m["converged"] and m["df"] == r["df"]
        assert m["chi2_scaled"] == pytest.approx(r["chisq.scaled"], rel=1e-6)
        for ours, lav in (("cfi_scaled", "cfi.scaled"), ("rmsea_scaled", "rmsea.scaled")):
            assert m[ours] == pytest.approx(r[lav], abs=1e-5)
    for k, level in enumerate(["metric", "scalar"]):
        assert models[level]["delta_chi2"] == pytest.approx(ref["lrt"]["chisq_diff"][k], rel=1e-6)
        assert models[level]["delta_p"] == pytest.approx(ref["lrt"]["p"][k], abs=1e-6)
    page = rep.to_html()
    assert "Δχ² (scaled)" in page and "CFI (scaled)" in page


def test_rand36_binary_items_fall_back_to_ml_when_scalar_wlsmv_does_not_converge():
    # simulated RAND-36: the binary role items (one threshold each) make lavaan's scalar
    # model (free scale factors) drift to an improper solution on these data (lavaan 0.6-14
    # fails on the same data too: "Model estimation FAILED"); with the automatic estimator
    # the report then says so and uses ML on the item codes
    data = bench.simulate_rand36(3000, seed=15)
    rng = np.random.default_rng(15)
    data["language"] = rng.choice(["nb", "nn"], size=len(data))
    js = build_report(data, INSTRUMENT).to_dict()
    assert js["structural_validity"]["estimator"] == "WLSMV"
    lang = js["invariance"]["language"]
    assert lang["estimator"] == "ML"
    assert lang["notes"][0].startswith("WLSMV failed (ValueError: the scalar model did not")
    assert [m["level"] for m in lang["models"]] == ["configural", "metric", "scalar", "strict"]
