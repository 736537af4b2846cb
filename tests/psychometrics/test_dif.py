"""Tests of ordinal logistic regression DIF.

``data/dif_simulated_grm.csv``: 1200 simulated respondents (numpy seed 20261122, graded
response model, 6 items coded 0..4, groups ``ref``/``focal`` of 600). Known DIF: q1 has
uniform DIF (focal latent response shifted by -1.5), q2 non-uniform DIF (slope 0.5 in
the focal group vs 2.5 in the reference group); q3..q6 have none. The generator is
``simulate_grm`` below (same code, same seed).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.miscmodels.ordinal_model import OrderedModel

from scoring.psychometrics import dif

DATA = Path(__file__).parent / "data" / "dif_simulated_grm.csv"


def simulate_grm(n_per_group: int = 600, seed: int = 20261122, dif_size: float = 1.0):
    rng = np.random.default_rng(seed)
    group = np.repeat(["ref", "focal"], n_per_group)
    theta = rng.normal(size=2 * n_per_group)
    focal = group == "focal"
    thresholds = np.array([-1.5, -0.5, 0.5, 1.5])
    cols = {}
    for j in range(6):
        a = np.full(theta.size, 1.5)
        shift = np.zeros(theta.size)
        if j == 0:
            shift[focal] = 1.5 * dif_size
        if j == 1:
            a = np.where(focal, 2.5 - 2.0 * dif_size, 2.5) if dif_size else a
        latent = a * theta - shift + rng.logistic(size=theta.size)
        cols[f"q{j + 1}"] = np.digitize(latent, thresholds * 1.5)
    return pd.DataFrame(cols).assign(group=group)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def result(data):
    return dif(data.drop(columns="group"), data["group"])


def test_data_file_is_the_documented_simulation(data):
    pd.testing.assert_frame_equal(data, simulate_grm(), check_dtype=False)


def test_likelihood_ratios_match_r_mass_polr(result):
    # R 4.2.2, MASS 7.3-58.2: with total = rowSums(q1..q6),
    # polr(factor(q1, ordered=TRUE) ~ total), ~ total + group, ~ total * group:
    # logLik -1511.733556, -1444.532014, -1440.072978 -> LR 2vs1 134.403084, 3vs2 8.918071;
    # for q2: logLik -1584.724343, -1583.743522, -1523.069561 -> LR 1.961642, 121.347922.
    t = result.table.set_index("item")
    assert t.loc["q1", "loglik_1"] == pytest.approx(-1511.733556, abs=1e-3)
    assert t.loc["q1", "loglik_2"] == pytest.approx(-1444.532014, abs=1e-3)
    assert t.loc["q1", "loglik_3"] == pytest.approx(-1440.072978, abs=1e-3)
    assert t.loc["q1", "chi2_uniform"] == pytest.approx(134.403084, abs=1e-3)
    assert t.loc["q1", "chi2_nonuniform"] == pytest.approx(8.918071, abs=1e-3)
    assert t.loc["q2", "chi2_uniform"] == pytest.approx(1.961642, abs=1e-3)
    assert t.loc["q2", "chi2_nonuniform"] == pytest.approx(121.347922, abs=1e-3)
    # anova(m1, m2, m3) p-values (MASS 7.3-58.2): q1 3vs2 0.002823626, q2 2vs1 0.1613378
    assert t.loc["q1", "p_nonuniform"] == pytest.approx(0.002823626, rel=1e-3)
    assert t.loc["q2", "p_uniform"] == pytest.approx(0.1613378, rel=1e-3)
    assert t.loc["q1", "df_uniform"] == 1


def test_pseudo_r2_changes_match_r(result):
    # R 4.2.2, MASS 7.3-58.2: null model polr(q1 ~ 1) logLik -1868.631423; McFadden
    # 1 - LL/LL0 and Nagelkerke (1 - exp(2(LL0-LL)/n)) / (1 - exp(2 LL0/n)) give
    # changes 2 vs 1 of 0.035963 (McFadden) and 0.061169 (Nagelkerke).
    t = result.table.set_index("item")
    assert t.loc["q1", "r2_mcfadden_uniform"] == pytest.approx(0.035963, abs=2e-6)
    assert t.loc["q1", "r2_nagelkerke_uniform"] == pytest.approx(0.061169, abs=2e-6)


def test_known_dif_is_flagged_and_nothing_else(result):
    t = result.table.set_index("item")
    assert result.flagged == ["q1", "q2"]
    assert bool(t.loc["q1", "uniform_dif"]) and not bool(t.loc["q1", "nonuniform_dif"])
    assert bool(t.loc["q2", "nonuniform_dif"]) and not bool(t.loc["q2", "uniform_dif"])
    assert result.group_levels == ("focal", "ref")
    assert "p < 0.01" in result.criterion and "McFadden" in result.criterion


def test_no_dif_simulation_flags_nothing():
    d = simulate_grm(seed=7, dif_size=0.0)
    r = dif(d.drop(columns="group"), d["group"], matching="rest")
    assert r.flagged == []
    assert r.matching == "rest"


def test_count_weighting_equals_fitting_every_row(data):
    # statsmodels OrderedModel fitted on all 1200 rows (no collapsing) is the reference.
    total = data[[f"q{i}" for i in range(1, 7)]].sum(axis=1).to_numpy(float)
    g = (data["group"] == "ref").to_numpy(float)
    exog = np.column_stack([total - total.mean(), g])
    full = OrderedModel(data["q1"].to_numpy(), exog, distr="logit").fit(
        method="bfgs", disp=False, maxiter=2000
    )
    r = dif(data.drop(columns="group"), data["group"])
    assert r.table.loc[0, "loglik_2"] == pytest.approx(full.llf, abs=1e-4)


def test_three_groups_use_two_df(data):
    g = pd.Series(np.resize(["a", "b", "c"], len(data)))
    r = dif(data.drop(columns="group"), g, pseudo_r2="nagelkerke")
    assert set(r.table["df_uniform"]) == {2}
    assert set(r.table["df_total"]) == {4}
    assert "Nagelkerke" in r.criterion


def test_missing_rows_are_dropped_and_to_dict(data):
    d = data.copy()
    d.loc[:4, "q3"] = np.nan
    r = dif(d.drop(columns="group"), d["group"])
    assert r.n == len(d) - 5
    out = r.to_dict()
    assert out["flagged"] == ["q1", "q2"] and len(out["items"]) == 6


def test_bad_input_raises(data):
    items = data.drop(columns="group")
    with pytest.raises(ValueError, match="two groups"):
        dif(items, pd.Series(["x"] * len(items)))
    with pytest.raises(ValueError, match="rows"):
        dif(items, data["group"][:10])
    with pytest.raises(ValueError, match="matching"):
        dif(items, data["group"], matching="irt")
    with pytest.raises(ValueError, match="at least two items"):
        dif(items[["q1"]], data["group"])


def test_analytic_gradient_equals_numerical_derivative(data):
    # statsmodels' numdiff (central differences of the log-likelihood) is the reference
    from statsmodels.tools.numdiff import approx_fprime

    from scoring.psychometrics.dif import _CountWeightedOrderedModel

    total = data[[f"q{i}" for i in range(1, 7)]].sum(axis=1).to_numpy(float)
    exog = np.column_stack([total - total.mean(), (data["group"] == "ref").to_numpy(float)])
    patterns, counts = np.unique(np.column_stack([data["q1"], exog]), axis=0,
                                 return_counts=True)
    model = _CountWeightedOrderedModel(patterns[:, 0], patterns[:, 1:], counts, distr="logit")
    rng = np.random.default_rng(0)
    for _ in range(3):
        params = model.start_params + rng.normal(0, 0.3, model.start_params.size)
        numeric = approx_fprime(params, model.loglike, centered=True)
        np.testing.assert_allclose(model.score(params), numeric, rtol=1e-6, atol=1e-4)
