"""Tests for scoring.psychometrics.reliability (Cronbach's alpha with Feldt CI, omega).

Sources:
* Data: ``psych::bfi`` (Revelle, Wilt & Rosenthal 2010; SAPA project), 2800 respondents,
  25 Big Five items, exported to data/bfi25.csv by data/make_bfi_reference.R.
* Reference values: R 4.2.2 with psych 2.2.9 / GPArotation 2022.10.2 (independent
  implementation), ``alpha()`` (raw_alpha, Feldt CI as ``alpha.ci``: Feldt, Woodruff &
  Salih 1987) and ``omega()`` (Schmid-Leiman, minres + oblimin), written by
  data/make_bfi_reference.R to data/bfi_psych_reference.json and, for simulated data, by
  data/make_simulated_reference.R to data/simulated_psych_reference.json.
* pingouin 0.7.0 ``cronbach_alpha`` (independent Python implementation).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import cronbach_alpha, omega
from scoring.psychometrics.reliability import OmegaResult, feldt_interval

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi25.csv")


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "bfi_psych_reference.json").read_text())


@pytest.fixture(scope="module")
def sim_ref() -> dict:
    return json.loads((DATA / "simulated_psych_reference.json").read_text())


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return pd.read_csv(DATA / "simulated_items.csv")


def keyed_scale(bfi: pd.DataFrame, scale: str) -> pd.DataFrame:
    """Agreeableness (A1 reversed) or conscientiousness (C4, C5 reversed), 1..6 items."""
    items = bfi[[f"{scale}{i}" for i in range(1, 6)]].copy()
    for name in {"A": ["A1"], "C": ["C4", "C5"]}[scale]:
        items[name] = 7 - items[name]
    return items


@pytest.mark.parametrize("scale", ["A", "C"])
@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_alpha_matches_psych_alpha(bfi, ref, scale, missing):
    expected = ref["alpha"][f"{scale}_{missing}"]
    est = cronbach_alpha(keyed_scale(bfi, scale), missing=missing)
    assert est.value == pytest.approx(expected["raw_alpha"], abs=1e-9)
    assert est.ci_low == pytest.approx(expected["feldt_lower"], abs=1e-9)
    assert est.ci_high == pytest.approx(expected["feldt_upper"], abs=1e-9)
    assert est.n == expected["n_rows"]
    assert est.extra["k"] == 5 and est.extra["missing"] == missing


def test_alpha_printed_bfi_agreeableness(bfi):
    # R 4.2.2 / psych 2.2.9, print(alpha(A)) with A1 reversed (run by hand): raw_alpha 0.70,
    # "95% confidence boundaries (Feldt)" 0.69 0.7 0.72 (printed to 2 decimals)
    est = cronbach_alpha(keyed_scale(bfi, "A"), missing="pairwise")
    assert round(est.value, 2) == 0.70
    assert (round(est.ci_low, 2), round(est.ci_high, 2)) == (0.69, 0.72)


def test_alpha_matches_pingouin(bfi):
    pingouin = pytest.importorskip("pingouin")
    items = keyed_scale(bfi, "C")
    value, (low, high) = pingouin.cronbach_alpha(items, nan_policy="listwise")
    est = cronbach_alpha(items)
    assert est.value == pytest.approx(value, abs=1e-9)
    assert (est.ci_low, est.ci_high) == pytest.approx((low, high), abs=6e-4)  # 3 decimals


def test_alpha_simulated_matches_psych(simulated, sim_ref):
    for missing, key in (("pairwise", "alpha_pairwise"), ("listwise", "alpha_listwise")):
        est = cronbach_alpha(simulated, missing=missing)
        assert est.value == pytest.approx(sim_ref[key]["value"], abs=1e-9)
        assert est.ci_low == pytest.approx(sim_ref[key]["lower"], abs=1e-9)
        assert est.ci_high == pytest.approx(sim_ref[key]["upper"], abs=1e-9)


def test_feldt_interval_levels():
    # psych::alpha.ci(0.8, n.obs = 100, n.var = 10, p.val = .05), R 4.2.2 / psych 2.2.9:
    # lower.ci 0.7360485, upper.ci 0.8536918 (run by hand)
    low, high = feldt_interval(0.8, 100, 10, 0.95)
    assert low == pytest.approx(0.7360485, abs=1e-7)
    assert high == pytest.approx(0.8536918, abs=1e-7)
    low90, high90 = feldt_interval(0.8, 100, 10, 0.90)
    assert low < low90 < 0.8 < high90 < high


@pytest.mark.parametrize(
    "key,columns,n_factors,missing",
    [
        ("ACE_pairwise", 15, 3, "pairwise"),
        ("ACE_listwise", 15, 3, "listwise"),
        ("all25_listwise_5", 25, 5, "listwise"),
    ],
)
def test_omega_matches_psych_omega(bfi, ref, key, columns, n_factors, missing):
    expected = ref["omega"][key]
    result = omega(bfi.iloc[:, :columns], n_factors=n_factors, missing=missing)
    assert isinstance(result, OmegaResult)
    assert result.omega_hierarchical == pytest.approx(expected["omega_h"], abs=5e-5)
    assert result.omega_total == pytest.approx(expected["omega_tot"], abs=5e-5)
    assert result.alpha == pytest.approx(expected["alpha"], abs=1e-9)
    np.testing.assert_allclose(result.general_loadings, expected["g"], atol=5e-5)
    # psych reverses items with negative general-factor loadings (flip = TRUE)
    assert list(result.keys) == expected["key"]


@pytest.mark.parametrize("scale", ["A", "C"])
@pytest.mark.parametrize("n_factors", [1, 2])
def test_omega_five_item_scales_match_psych(bfi, ref, scale, n_factors):
    # psych::omega(bfi[, A1:A5 or C1:C5], nfactors) on the raw (unreversed) items: psych
    # reflects A1, or C4 and C5, itself
    expected = ref["omega"][f"{scale}_pairwise_{n_factors}"]
    result = omega(
        bfi[[f"{scale}{i}" for i in range(1, 6)]], n_factors=n_factors, missing="pairwise"
    )
    assert result.omega_hierarchical == pytest.approx(expected["omega_h"], abs=5e-5)
    assert result.omega_total == pytest.approx(expected["omega_tot"], abs=5e-5)
    assert list(result.keys) == expected["key"]
    assert result.notes == ()


def test_omega_with_too_many_factors_is_flagged(bfi, ref):
    # 3 factors for 5 items: df = ((5 - 3)^2 - (5 + 3)) / 2 = -2, the minres solution is
    # not unique (psych reaches a different exact-fit point: omega_h 0.681 for A). omega
    # total is still close; omega hierarchical is not comparable and a note says so.
    result = omega(bfi[[f"A{i}" for i in range(1, 6)]], n_factors=3, missing="pairwise")
    assert result.notes and "not unique" in result.notes[0]
    assert result.omega_total == pytest.approx(ref["omega"]["A_pairwise_3"]["omega_tot"], abs=0.005)


@pytest.mark.parametrize(
    "key,n_factors,missing",
    [
        ("omega_listwise", 3, "listwise"),
        ("omega_pairwise", 3, "pairwise"),
        ("omega_listwise_2", 2, "listwise"),
        ("omega_listwise_1", 1, "listwise"),
    ],
)
def test_omega_simulated_matches_psych(simulated, sim_ref, key, n_factors, missing):
    expected = sim_ref[key]
    result = omega(simulated, n_factors=n_factors, missing=missing)
    assert result.omega_hierarchical == pytest.approx(expected["omega_h"], abs=5e-5)
    assert result.omega_total == pytest.approx(expected["omega_tot"], abs=5e-5)


def test_omega_to_dict_is_json(bfi):
    payload = json.loads(json.dumps(omega(bfi.iloc[:, :10], n_factors=2).to_dict()))
    assert payload["n_factors"] == 2
    assert set(payload["loadings"]["A2"]) == {"g", "F1*", "F2*", "h2", "u2"}


def test_pairwise_equals_listwise_without_missing(simulated):
    complete = simulated.dropna()
    a = cronbach_alpha(complete, missing="pairwise")
    b = cronbach_alpha(complete, missing="listwise")
    assert a.value == pytest.approx(b.value, abs=1e-12)
    assert a.n == b.n == len(complete)


@pytest.mark.parametrize(
    "bad,message",
    [
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), "at least 2 columns"),
        (pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}), "non-numeric.*b"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 4.0, 4.0]}), "constant column.*b"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]}), "at least 3 rows"),
        (pd.DataFrame({"a": [1.0, 2.0, np.inf], "b": [2.0, 1.0, 3.0]}), "infinite"),
        (
            pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [2.0, np.nan, 3.0, 1.0]}),
            "only 2 complete row",
        ),
    ],
)
def test_alpha_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        cronbach_alpha(bad)


def test_bad_arguments(simulated):
    with pytest.raises(ValueError, match="missing must be"):
        cronbach_alpha(simulated, missing="mean")
    with pytest.raises(ValueError, match="ci must be"):
        cronbach_alpha(simulated, ci=1.5)
    with pytest.raises(ValueError, match="n_factors"):
        omega(simulated, n_factors=9)
    with pytest.raises(ValueError, match="at least 3 columns"):
        omega(simulated.iloc[:, :2])


def _data_with_correlations(corr: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    """n rows whose sample correlation matrix is exactly ``corr`` (and variances 1).

    Standard normals are centred and whitened (sample covariance exactly I), then
    multiplied by the Cholesky factor of ``corr``.
    """
    z = np.random.default_rng(seed).standard_normal((n, corr.shape[0]))
    z -= z.mean(axis=0)
    vals, vecs = np.linalg.eigh(np.cov(z, rowvar=False))
    z = z @ vecs @ np.diag(vals**-0.5) @ vecs.T
    return z @ np.linalg.cholesky(corr).T


def test_omega_and_alpha_on_thurstone_match_the_published_values():
    # Public data: Thurstone & Thurstone (1941) primary mental abilities, 9 tests, in the
    # subsample of Bechtoldt (1961), n = 213; the correlation matrix as shipped with R psych
    # (``Thurstone``, 3 decimals; data/thurstone_bechtoldt_1961.csv).
    # Published: Revelle, "Using R and the psych package to find omega" (psych vignette
    # "How to find omega"), output of omega(Thurstone): Alpha 0.89, Omega Hierarchical
    # 0.74, Omega Total 0.93.
    # More digits: R 4.2.2, psych 2.2.9, omega(Thurstone, n.obs = 213) run by hand:
    # omega_h 0.7360703183, omega.tot 0.9308254149, alpha 0.8914575356.
    corr = pd.read_csv(DATA / "thurstone_bechtoldt_1961.csv", index_col=0)
    x = pd.DataFrame(_data_with_correlations(corr.to_numpy(), 213), columns=corr.columns)
    assert np.corrcoef(x, rowvar=False) == pytest.approx(corr.to_numpy(), abs=1e-12)
    om = omega(x, n_factors=3)
    assert round(om.omega_hierarchical, 2) == 0.74
    assert round(om.omega_total, 2) == 0.93
    assert round(om.alpha, 2) == 0.89
    assert om.omega_hierarchical == pytest.approx(0.7360703183, abs=1e-5)
    assert om.omega_total == pytest.approx(0.9308254149, abs=1e-6)
    assert om.alpha == pytest.approx(0.8914575356, abs=1e-9)
    # unit variances: raw alpha equals the standardised alpha of the correlations
    alpha = cronbach_alpha(x)
    assert round(alpha.value, 2) == 0.89
    assert alpha.value == pytest.approx(0.8914575356, abs=1e-9)
