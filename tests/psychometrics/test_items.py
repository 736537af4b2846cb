"""Tests for scoring.psychometrics.items (item analysis and shared input handling).

Sources:
* ``psych::bfi`` data (data/bfi25.csv) and R 4.2.2 / psych 2.2.9 ``alpha()$item.stats``
  (n, mean, sd, r.drop) and ``alpha()$alpha.drop`` (raw_alpha), from
  data/make_bfi_reference.R -> data/bfi_psych_reference.json (independent implementation).
* pandas ``DataFrame.cov`` / ``DataFrame.corr`` (pairwise-complete, independent
  implementation) for the vectorised pairwise covariance and correlation.
* A hand-worked toy table for floor/ceiling and missing percentages (counts in comments).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.psychometrics import cronbach_alpha, item_analysis
from scoring.psychometrics.items import ItemAnalysis, pairwise_correlation, pairwise_covariance

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi25.csv")


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "bfi_psych_reference.json").read_text())


def agreeableness(bfi: pd.DataFrame) -> pd.DataFrame:
    items = bfi[[f"A{i}" for i in range(1, 6)]].copy()
    items["A1"] = 7 - items["A1"]  # reverse-keyed item, 1..6 scale
    return items


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_item_statistics_match_psych_alpha(bfi, ref, missing):
    expected = ref["alpha"][f"A_{missing}"]
    result = item_analysis(agreeableness(bfi), missing=missing)
    assert isinstance(result, ItemAnalysis)
    t = result.table
    assert list(t.index) == ["A1", "A2", "A3", "A4", "A5"]
    assert list(t["n"]) == expected["n"]
    np.testing.assert_allclose(t["mean"], expected["mean"], atol=1e-10)
    np.testing.assert_allclose(t["sd"], expected["sd"], atol=1e-10)
    np.testing.assert_allclose(t["item_total_r"], expected["r_drop"], atol=1e-10)
    np.testing.assert_allclose(t["alpha_if_deleted"], expected["alpha_if_deleted"], atol=1e-10)
    assert result.alpha == pytest.approx(expected["raw_alpha"], abs=1e-10)


def test_conscientiousness_item_statistics(bfi, ref):
    expected = ref["alpha"]["C_pairwise"]
    items = bfi[[f"C{i}" for i in range(1, 6)]].copy()
    items[["C4", "C5"]] = 7 - items[["C4", "C5"]]
    t = item_analysis(items).table
    np.testing.assert_allclose(t["item_total_r"], expected["r_drop"], atol=1e-10)
    np.testing.assert_allclose(t["alpha_if_deleted"], expected["alpha_if_deleted"], atol=1e-10)


# toy table, items scored 0..4; hand counts:
#   x: 0, 0, 2, 4, 3, NaN -> 5 answers, 2 at 0 (40 %), 1 at 4 (20 %), 1/6 missing
#   y: 4, 4, 4, 1, 2, 3   -> 6 answers, 0 at 0, 3 at 4 (50 %)
#   z: 1, 2, 3, 2, 1, 2   -> observed range 1..3: 2 at 1, 1 at 3; possible range 0..4: none
TOY = pd.DataFrame({
    "x": [0, 0, 2, 4, 3, np.nan],
    "y": [4, 4, 4, 1, 2, 3],
    "z": [1, 2, 3, 2, 1, 2],
})


def test_floor_ceiling_against_possible_range():
    t = item_analysis(TOY, min_score=0, max_score=4).table
    assert list(t["n"]) == [5, 6, 6]
    np.testing.assert_allclose(t["missing_pct"], [100 / 6, 0, 0])
    np.testing.assert_allclose(t["floor_pct"], [40, 0, 0])
    np.testing.assert_allclose(t["ceiling_pct"], [20, 50, 0])


def test_floor_ceiling_default_observed_range_and_mapping():
    t = item_analysis(TOY).table
    # observed ranges: x 0..4, y 1..4 (1 of 6 at 1), z 1..3
    np.testing.assert_allclose(t["floor_pct"], [40, 100 / 6, 100 / 3])
    np.testing.assert_allclose(t["ceiling_pct"], [20, 50, 100 / 6])
    t = item_analysis(TOY, min_score={"z": 0}, max_score={"z": 4}).table
    assert t.loc["z", "floor_pct"] == 0 and t.loc["z", "ceiling_pct"] == 0
    assert t.loc["x", "floor_pct"] == 40  # unmapped items keep the observed range


def test_listwise_drops_incomplete_rows():
    t = item_analysis(TOY, missing="listwise", min_score=0, max_score=4).table
    assert list(t["n"]) == [5, 5, 5]
    # y without its last row: 4, 4, 4, 1, 2 -> 3 of 5 at the ceiling
    assert t.loc["y", "ceiling_pct"] == pytest.approx(60)


def test_two_items_have_no_alpha_if_deleted():
    t = item_analysis(TOY[["y", "z"]]).table
    assert t["alpha_if_deleted"].isna().all()
    assert t["item_total_r"].notna().all()


def test_to_dict_is_json(bfi):
    payload = json.loads(json.dumps(item_analysis(agreeableness(bfi)).to_dict()))
    assert payload["missing"] == "pairwise"
    assert payload["items"][0]["item"] == "A1"
    assert set(payload["items"][0]) >= {"n", "missing_pct", "mean", "sd", "floor_pct",
                                        "ceiling_pct", "item_total_r", "alpha_if_deleted"}


def test_pairwise_covariance_and_correlation_match_pandas(bfi):
    values = bfi.to_numpy(float)
    cov, n = pairwise_covariance(values)
    np.testing.assert_allclose(cov, bfi.cov().to_numpy(), atol=1e-10)
    np.testing.assert_allclose(pairwise_correlation(values), bfi.corr().to_numpy(), atol=1e-10)
    assert n[0, 1] == bfi[["A1", "A2"]].dropna().shape[0]


@pytest.mark.parametrize("kwargs,message", [
    ({"min_score": {"nope": 1}}, "unknown item"),
    ({"min_score": 4, "max_score": 4}, "below max_score"),
    ({"missing": "impute"}, "missing must be"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        item_analysis(TOY, **kwargs)


@pytest.mark.parametrize("bad,message", [
    (np.arange(5.0), "2-D"),
    (pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan] * 3}), "no values"),
    (pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [5.0, 5.0, 5.0]}), "constant"),
    (pd.DataFrame({"a": [1, 2, 3], "b": ["1", "2", "3"]}), "non-numeric"),
])
def test_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        item_analysis(bad)


def test_numpy_input_is_accepted():
    t = item_analysis(TOY.to_numpy()).table
    assert list(t.index) == ["item1", "item2", "item3"]


def test_fast_on_100000_by_36():
    # brief: item analysis + alpha + ICC on 100,000 x 36 in a few seconds
    from scoring.psychometrics import icc

    rng = np.random.default_rng(9)
    trait = rng.normal(0, 1, (100_000, 1))
    big = pd.DataFrame(np.clip(np.round(3 + trait + rng.normal(0, 1, (100_000, 36))), 1, 5),
                       columns=[f"i{j:02d}" for j in range(36)])
    big = big.mask(rng.random(big.shape) < 0.01)
    # CPU time of this process, so that other jobs on the shared machine do not make the
    # test flaky; one BLAS thread, since idle BLAS threads spin and add CPU time when the
    # cores are contended (about 0.7 s here when the machine is idle)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        start = time.process_time()
        ia = item_analysis(big, min_score=1, max_score=5)
        alpha = cronbach_alpha(big, missing="pairwise")
        icc(big)
        elapsed = time.process_time() - start
    assert ia.alpha == pytest.approx(alpha.value, abs=1e-12)
    assert len(ia.table) == 36
    assert elapsed < 6.0, f"took {elapsed:.2f} s of CPU time"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(5, 60), cols=st.integers(2, 6),
       share=st.floats(0.0, 0.3))
def test_pairwise_covariance_property_matches_pandas(seed, rows, cols, share):
    # independent implementation: pandas DataFrame.cov/corr (pairwise-complete, min 1 pair)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, cols)))
    frame = frame.mask(rng.random(frame.shape) < share)
    cov, n = pairwise_covariance(frame.to_numpy())
    expected = frame.cov().to_numpy()
    both = ~np.isnan(expected) & (n >= 2)
    np.testing.assert_allclose(cov[both], expected[both], atol=1e-10)
    corr = pairwise_correlation(frame.to_numpy())
    expected_r = frame.corr().to_numpy()
    ok = ~np.isnan(expected_r) & ~np.isnan(corr) & (n >= 3)
    np.testing.assert_allclose(corr[ok], expected_r[ok], atol=1e-9)
