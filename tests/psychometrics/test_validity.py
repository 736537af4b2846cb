"""Tests of hypotheses testing (construct validity).

Data: Holzinger & Swineford (1939) as shipped with R lavaan (see test_cfa.py).
Reference values: R 4.2.2 (``cor.test``, ``cor(method = "spearman")``, pooled-SD Cohen's d
computed in R) and pingouin 0.5 ``compute_esci`` (same CI formula as R
``effsize::cohen.d(noncentral = FALSE)``) as independent implementations.
"""

import json
import math
from pathlib import Path

import pandas as pd
import pingouin
import pytest

from scoring.psychometrics import hypotheses
from scoring.psychometrics.validity import correlation

HERE = Path(__file__).parent
SPEC = HERE / "data" / "hypotheses_hs1939.yaml"


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def result(hs):
    return hypotheses(hs, SPEC)


def test_pearson_estimate_and_ci_match_r_cor_test(result):
    # R 4.2.2: cor.test(x1, x7): r = 0.066864, 95% CI -0.046540 .. 0.178566, n = 301
    h2 = {o.id: o for o in result.outcomes}["H2"]
    assert h2.estimate.value == pytest.approx(0.066864, abs=1e-6)
    assert h2.estimate.ci == pytest.approx((-0.046540, 0.178566), abs=1e-6)
    assert h2.estimate.n == 301
    assert h2.confirmed


def test_spearman_estimate_matches_r_and_ci_uses_fieller_se(result):
    # R 4.2.2: cor(x4, x5, method = "spearman") = 0.704185
    h1 = {o.id: o for o in result.outcomes}["H1"]
    assert h1.estimate.value == pytest.approx(0.704185, abs=1e-6)
    # Fieller, Hartley & Pearson (1957): SE(z) = sqrt(1.06 / (n - 3))
    z, se = math.atanh(0.704185), math.sqrt(1.06 / 298)
    assert h1.estimate.ci_low == pytest.approx(math.tanh(z - 1.959964 * se), abs=1e-5)
    assert h1.estimate.ci_high == pytest.approx(math.tanh(z + 1.959964 * se), abs=1e-5)
    assert h1.confirmed


def test_known_groups_cohens_d_matches_r_and_pingouin(result, hs):
    # R 4.2.2: pooled-SD d for x4, Grant-White (n 145, mean 3.317241) minus Pasteur
    # (n 156, mean 2.822650) = 0.434083; Welch t.test p = 0.00019957.
    h3 = {o.id: o for o in result.outcomes}["H3"]
    assert h3.estimate.value == pytest.approx(0.434083, abs=1e-6)
    assert h3.details["welch_p"] == pytest.approx(0.00019957, rel=1e-4)
    assert h3.details["lower"]["n"] == 156 and h3.details["higher"]["n"] == 145
    low, high = pingouin.compute_esci(stat=0.434083, nx=145, ny=156, eftype="cohen", decimals=6)
    assert h3.estimate.ci == pytest.approx((low, high), abs=1e-5)
    assert not h3.confirmed  # expected d >= 0.5


def test_comparison_and_cosmin_share(result):
    # R 4.2.2: Spearman r(x4, x5) = 0.704185, r(x4, x9) = 0.192203 -> difference 0.511982
    h4 = {o.id: o for o in result.outcomes}["H4"]
    assert h4.estimate.value == pytest.approx(0.704185 - 0.192203, abs=2e-6)
    assert h4.confirmed
    # 3 of 4 confirmed = 75 % -> COSMIN "+" (criterion: at least 75 %, Prinsen et al. 2018)
    assert result.n_confirmed == 3
    assert result.share_confirmed == 0.75
    assert result.rating == "+"


def test_rating_minus_below_75_percent_and_question_mark_without_hypotheses(hs):
    spec = [
        {"type": "correlation", "x": "x4", "y": "x5", "expected": "<= -0.5"},
        {"type": "correlation", "x": "x4", "y": "x6", "expected": ">= 0.5"},
    ]
    r = hypotheses(hs, spec)
    assert [o.confirmed for o in r.outcomes] == [False, True]
    assert r.rating == "-"
    assert hypotheses(hs, []).rating == "?"


def test_json_spec_and_to_dict(tmp_path, hs):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"hypotheses": [{"x": "x1", "y": "x2", "expected": "> 0.2"}]}))
    r = hypotheses(hs, path)
    d = r.to_dict()
    json.dumps(d)
    assert d["n_hypotheses"] == 1 and d["hypotheses"][0]["kind"] == "correlation"
    assert list(r.table.columns)[:4] == ["id", "kind", "description", "expected"]


def test_pairwise_missing_rows_are_dropped(hs):
    d = hs.copy()
    d.loc[:10, "x1"] = None
    est = correlation(d["x1"], d["x2"], "pearson")
    assert est.n == 290


def test_bad_specs_raise(hs, tmp_path):
    with pytest.raises(ValueError, match="not found"):
        hypotheses(hs, [{"x": "nope", "y": "x1", "expected": "> 0"}])
    with pytest.raises(ValueError, match="cannot read expected"):
        hypotheses(hs, [{"x": "x2", "y": "x1", "expected": "about 0.3"}])
    with pytest.raises(ValueError, match="unknown type"):
        hypotheses(hs, [{"type": "magic"}])
    with pytest.raises(ValueError, match="lower"):
        hypotheses(hs, [{"type": "known_groups", "score": "x1", "group": "school"}])
    with pytest.raises(ValueError, match="no row"):
        hypotheses(hs, [{"type": "known_groups", "score": "x1", "group": "school",
                         "lower": "Nowhere", "higher": "Pasteur"}])
    with pytest.raises(FileNotFoundError):
        hypotheses(hs, tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="method"):
        hypotheses(hs, [{"x": "x2", "y": "x1", "expected": "> 0", "method": "kendall"}])
