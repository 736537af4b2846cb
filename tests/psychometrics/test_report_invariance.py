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
