"""Tests for scoring.psychometrics.factor (EFA, KMO, Bartlett, parallel analysis).

Sources:
* Data: ``psych::bfi`` (Revelle, Wilt & Rosenthal 2010; SAPA project), data/bfi25.csv.
* Reference values: R 4.2.2, psych 2.2.9, GPArotation 2022.10.2 (independent
  implementation): ``fa(x, 5, fm = "minres", rotate = "oblimin")`` (loadings, communality,
  Phi, Vaccounted), ``KMO()``, ``cortest.bartlett()``, ``fa.parallel()`` with
  ``set.seed(1)`` ("Parallel analysis suggests that the number of factors = 6 and the
  number of components = 5"), written by data/make_bfi_reference.R to
  data/bfi_psych_reference.json; simulated data: data/make_simulated_reference.R.
* The five-factor structure of the bfi items is documented in ?psych::bfi.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import efa, parallel_analysis
from scoring.psychometrics.factor import EFAResult

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi25.csv")


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "bfi_psych_reference.json").read_text())


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return pd.read_csv(DATA / "simulated_items.csv")


@pytest.fixture(scope="module")
def sim_ref() -> dict:
    return json.loads((DATA / "simulated_psych_reference.json").read_text())


def aligned(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Reorder/reflect our factors to R's: each R factor takes the best-matching column."""
    out = np.empty_like(theirs)
    free = list(range(ours.shape[1]))
    for j in range(theirs.shape[1]):
        k = max(free, key=lambda c: abs(ours[:, c] @ theirs[:, j]))
        free.remove(k)
        out[:, j] = ours[:, k] * np.sign(ours[:, k] @ theirs[:, j])
    return out


@pytest.mark.parametrize("missing", ["listwise", "pairwise"])
def test_bfi_five_factors_match_psych_fa(bfi, ref, missing):
    expected = ref["fa"][f"{missing}_5"]
    result = efa(bfi, n_factors=5, missing=missing)
    assert isinstance(result, EFAResult)
    theirs = np.array(expected["loadings"])
    ours = result.loadings.to_numpy()
    # same order and signs as psych (sorted by diag(Phi L'L), positive column sums) ...
    np.testing.assert_allclose(ours, theirs, atol=1e-3)
    # ... and the same after an order-free alignment
    np.testing.assert_allclose(aligned(ours, theirs), theirs, atol=1e-3)
    np.testing.assert_allclose(result.communalities, expected["communality"], atol=1e-3)
    np.testing.assert_allclose(result.factor_correlations, expected["phi"], atol=1e-3)
    np.testing.assert_allclose(result.variance.loc["ss_loadings"], expected["ss_loadings"],
                               atol=1e-3)
    np.testing.assert_allclose(result.variance.loc["cumulative"].iloc[-1],
                               sum(expected["ss_loadings"]) / 25, atol=1e-4)
    assert result.n == (2436 if missing == "listwise" else 2800)


@pytest.mark.parametrize("missing", ["listwise", "pairwise"])
def test_kmo_matches_psych(bfi, ref, missing):
    expected = ref["kmo"][missing]
    result = efa(bfi, n_factors=5, missing=missing)
    assert result.kmo == pytest.approx(expected["overall"], abs=1e-9)
    np.testing.assert_allclose(result.kmo_items, expected["items"], atol=1e-9)


def test_bartlett_matches_psych(bfi, ref):
    expected = ref["bartlett"]["listwise"]
    result = efa(bfi, n_factors=5)
    assert result.bartlett["chi2"] == pytest.approx(expected["chisq"], rel=1e-9)
    assert result.bartlett["df"] == expected["df"]
    assert result.bartlett["p"] == pytest.approx(expected["p"], abs=1e-12)


def test_simulated_three_factors_match_psych(simulated, sim_ref):
    expected = sim_ref["fa_listwise_3"]
    result = efa(simulated, n_factors=3)
    np.testing.assert_allclose(result.loadings, np.array(expected["loadings"]), atol=1e-3)
    np.testing.assert_allclose(result.factor_correlations, np.array(expected["phi"]),
                               atol=1e-3)
    np.testing.assert_allclose(result.communalities, expected["communality"], atol=1e-3)
    assert result.kmo == pytest.approx(sim_ref["kmo"]["overall"], abs=1e-9)
    assert result.bartlett["chi2"] == pytest.approx(sim_ref["bartlett"]["chisq"], rel=1e-9)


def test_varimax_matches_psych(simulated, sim_ref):
    expected = sim_ref["fa_varimax_3"]
    result = efa(simulated, n_factors=3, rotation="varimax")
    assert result.factor_correlations is None
    theirs = np.array(expected["loadings"])
    np.testing.assert_allclose(aligned(result.loadings.to_numpy(), theirs), theirs, atol=1e-3)
    np.testing.assert_allclose(result.communalities, expected["communality"], atol=1e-3)


@pytest.mark.parametrize("key,rotation,method", [
    ("fa_ml_oblimin_3", "oblimin", "ml"),
    ("fa_promax_3", "promax", "minres"),
    ("fa_geominq_3", "geomin_obl", "minres"),
])
def test_other_methods_and_rotations_match_psych(simulated, sim_ref, key, rotation, method):
    # psych::fa(x, 3, fm = "ml" / "minres", rotate = "oblimin" / "promax" / "geominQ")
    expected = sim_ref[key]
    result = efa(simulated, n_factors=3, rotation=rotation, method=method)
    np.testing.assert_allclose(result.loadings, np.array(expected["loadings"]), atol=1e-4)
    np.testing.assert_allclose(result.factor_correlations, np.array(expected["phi"]),
                               atol=1e-4)


def test_parallel_analysis_matches_psych(bfi, ref):
    expected = ref["parallel"]
    fa = parallel_analysis(bfi, seed=1, kind="fa")
    pc = parallel_analysis(bfi, seed=1, kind="pc")
    # observed eigenvalues are deterministic: psych's fa.values and pc.values
    np.testing.assert_allclose(fa.observed, expected["fa_values"], atol=1e-5)
    np.testing.assert_allclose(pc.observed, expected["pc_values"], atol=1e-9)
    # the simulated ones differ by random stream only
    np.testing.assert_allclose(pc.simulated_mean, expected["sim_pc"], atol=0.03)
    np.testing.assert_allclose(fa.simulated_mean, expected["sim_fa"], atol=0.03)
    assert (fa.n_factors, pc.n_factors) == (expected["nfact"], expected["ncomp"]) == (6, 5)


def test_efa_chooses_number_of_factors_by_parallel_analysis(simulated):
    result = efa(simulated, seed=3)
    assert result.parallel is not None
    assert result.n_factors == max(1, result.parallel.n_factors)
    assert result.parallel.kind == "fa"


def test_to_dict_is_json(simulated):
    payload = json.loads(json.dumps(efa(simulated, n_factors=2).to_dict()))
    assert payload["n_factors"] == 2 and payload["rotation"] == "oblimin"
    assert set(payload["loadings"]["q01"]) == {"F1", "F2"}
    assert set(payload["bartlett"]) == {"chi2", "df", "p"}
    assert set(payload["variance"]) == {"ss_loadings", "proportion", "cumulative"}


def test_one_factor_needs_no_rotation(simulated):
    result = efa(simulated, n_factors=1)
    assert result.factor_correlations is None
    assert result.loadings.shape == (9, 1)
    assert (result.loadings["F1"] > 0).all()


@pytest.mark.parametrize("kwargs,message", [
    ({"n_factors": 9}, "n_factors must be"),
    ({"n_factors": 0}, "n_factors must be"),
    ({"n_factors": 2, "rotation": "spin"}, "rotation must be"),
    ({"n_factors": 2, "method": "pc"}, "method must be"),
    ({"n_factors": 2, "missing": "em"}, "missing must be"),
])
def test_bad_arguments(simulated, kwargs, message):
    with pytest.raises(ValueError, match=message):
        efa(simulated, **kwargs)


def test_bad_input():
    rng = np.random.default_rng(1)
    few_rows = pd.DataFrame(rng.normal(size=(4, 5)))
    with pytest.raises(ValueError, match="row"):
        efa(few_rows, n_factors=1)
    x = pd.DataFrame(rng.normal(size=(50, 4)), columns=list("abcd"))
    with pytest.raises(ValueError, match="at least 3 columns"):
        efa(x[["a", "b"]], n_factors=1)
    collinear = x.assign(e=x["a"] + x["b"])
    with pytest.raises(ValueError, match="singular"):
        efa(collinear, n_factors=1)
    with pytest.raises(ValueError, match="constant"):
        efa(x.assign(e=1.0), n_factors=1)
    with pytest.raises(ValueError, match="kind must be"):
        parallel_analysis(x, kind="both")
