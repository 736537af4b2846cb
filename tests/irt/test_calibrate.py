"""Calibration by marginal maximum likelihood: published results and parameter recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import expit
from scipy.stats import norm

from scoring.irt import fit
from scoring.irt.simulate import random_items, simulate


def test_lsat6_2pl_matches_ltm(lsat6_2pl):
    # ltm::ltm(LSAT ~ z1, IRT.param = TRUE), printed in
    # https://rstudio-pubs-static.s3.amazonaws.com/1049111_d258e411eefe4ba085e3bbc59b32dbeb.html
    # ltm integrates with Gauss-Hermite nodes, we with 61 rectangular nodes: the two
    # agree to about 0.001 in a and b (tolerances 0.005 / 0.01 cover that).
    ltm_b = [-3.3597341, -1.3696497, -0.2798983, -1.8659189, -3.1235725]
    ltm_a = [0.8253715, 0.7229499, 0.8904748, 0.6885502, 0.6574516]
    params = lsat6_2pl.params
    assert list(params.columns) == ["a", "b"]
    np.testing.assert_allclose(params["a"], ltm_a, atol=0.005)
    np.testing.assert_allclose(params["b"], ltm_b, atol=0.01)
    assert lsat6_2pl.converged


def test_lsat7_2pl_matches_mirt(lsat7, lsat7_2pl):
    # mirt(expand.table(LSAT7), 1) in philchalmers/mirt inst/tests/test-01-mirtOne.R:
    # slopes a and intercepts d (4 decimals), logLik -2658.805 (mirt's default print), and
    # the Bock-Lieberman (SE.type = "BL", observed information) 95 % intervals, whose
    # width / 3.92 is the SE. mirt stops EM at TOL 1e-4, so its 4th decimal can differ
    # from the exact optimum: tolerances 0.003 (estimates) and 2 % (SEs).
    cfs = lsat7_2pl.intercepts
    np.testing.assert_allclose(cfs["a"], [0.988, 1.081, 1.706, 0.7651, 0.7358], atol=0.003)
    np.testing.assert_allclose(cfs["d"], [1.8561, 0.808, 1.8043, 0.486, 1.8545], atol=0.003)
    ci_a = np.array([[0.6406, 1.3354], [0.7501, 1.4119], [1.0779, 2.334], [0.5022, 1.028],
                     [0.4395, 1.032]])  # fmt: skip
    ci_d = np.array([[1.5984, 2.1138], [0.6291, 0.9869], [1.4036, 2.205], [0.3392, 0.6328],
                     [1.6302, 2.0787]])  # fmt: skip
    se = lsat7_2pl.se_intercepts
    np.testing.assert_allclose(se["a"], np.diff(ci_a, axis=1)[:, 0] / 3.92, rtol=0.02)
    np.testing.assert_allclose(se["d"], np.diff(ci_d, axis=1)[:, 0] / 3.92, rtol=0.02)
    assert lsat7_2pl.loglik == pytest.approx(-2658.805, abs=0.005)


def test_lsat6_rasch_matches_mirt(lsat6):
    # mirt(expand.table(LSAT6), 1, itemtype = 'Rasch'): intercepts d = 2.73, 0.999, 0.24,
    # 1.306, 2.099 and latent variance 0.57 (philchalmers/mirt inst/tests/test-01-mirtOne.R).
    # Our "rasch" has a common slope with theta ~ N(0, 1): the slope is the latent SD.
    result = fit(lsat6, "rasch")
    np.testing.assert_allclose(
        result.intercepts["d"], [2.73, 0.999, 0.24, 1.306, 2.099], atol=0.005
    )
    assert result.items.a[0] ** 2 == pytest.approx(0.57, abs=0.005)
    assert np.ptp(result.params["a"]) == 0
    # Standard errors of d: mirt's 95% CIs (2.478, 2.982), (0.842, 1.155), (0.1, 0.38),
    # (1.14, 1.473), (1.899, 2.3) -> SE = width / 3.92. Those CIs are rounded to 3
    # decimals and came from mirt's older default SE estimator, hence 5 % relative.
    mirt_se = np.array([2.982 - 2.478, 1.155 - 0.842, 0.38 - 0.1, 1.473 - 1.14, 2.3 - 1.899]) / 3.92
    np.testing.assert_allclose(result.se_intercepts["d"], mirt_se, rtol=0.05)
    assert result.n_params == 6


def test_rasch_with_fixed_slope(lsat6):
    # Fixed slope 1 is a constrained version of the common-slope model: fewer
    # parameters, lower likelihood, and thresholds = -d with d the logit intercepts.
    free = fit(lsat6, "rasch", se=False)
    fixed = fit(lsat6, "rasch", rasch_slope=1.0)
    assert fixed.n_params == 5
    assert np.all(fixed.params["a"] == 1.0)
    assert fixed.loglik < free.loglik
    np.testing.assert_allclose(fixed.params["b"], -fixed.intercepts["d"])
    assert fixed.se["a"].isna().all() and fixed.se["b"].notna().all()


def test_loglik_equals_direct_integration(lsat6, lsat6_2pl):
    # The marginal log-likelihood recomputed without the quadrature code: adaptive
    # integration (scipy.integrate.quad) of each pattern's likelihood over N(0, 1).
    a = lsat6_2pl.items.a
    d = lsat6_2pl.items.d[:, 0]
    counts = lsat6.value_counts()
    total = 0.0
    for pattern, n in counts.items():
        x = np.array(pattern)

        def f(t, x=x):
            p = expit(a * t + d)
            return np.prod(np.where(x == 1, p, 1 - p)) * norm.pdf(t)

        total += n * np.log(integrate.quad(f, -10, 10, epsabs=1e-13)[0])
    assert lsat6_2pl.loglik == pytest.approx(total, abs=1e-4)
    # AIC/BIC by their definitions (Akaike 1974; Schwarz 1978), 10 parameters, n = 1000
    assert lsat6_2pl.aic == pytest.approx(-2 * total + 20, abs=1e-3)
    assert lsat6_2pl.bic == pytest.approx(-2 * total + 10 * np.log(1000), abs=1e-3)


@pytest.mark.parametrize("model", ["grm", "gpcm"])
def test_polytomous_recovery(model):
    # Parameter recovery (simulation from known parameters, as in the recovery studies
    # of Reise & Yu 1990 for the GRM): 8 items x 5 categories, n = 1500, 10 % missing at
    # random. With the fixed seed every estimate lies within 4 of its own standard
    # errors of the truth, and at least 85 % within 2 SE (nominal 95 %).
    rng = np.random.default_rng(20261205)
    truth = random_items(8, 5, rng, model)
    data, _ = simulate(truth, 1500, rng, missing=0.10)
    result = fit(data, model)
    assert result.converged
    est = result.params.to_numpy()
    se = result.se.to_numpy()
    true = np.column_stack([truth.a, truth.b])
    z = np.abs(est - true) / se
    assert np.all(z < 4), z.round(1)
    assert np.mean(z < 2) >= 0.85
    assert list(result.params.columns) == ["a", "b1", "b2", "b3", "b4"]
    assert np.all(np.diff(result.params[["b1", "b2", "b3", "b4"]].to_numpy(), axis=1) > 0)


def test_grm_with_fewer_categories_on_one_item():
    # An item whose top category nobody used gets one threshold less (NaN), the others
    # keep theirs; the likelihood never sees the padded category.
    rng = np.random.default_rng(7)
    truth = random_items(5, 4, rng)
    data, _ = simulate(truth, 800, rng)
    data.loc[data["item1"] == 3, "item1"] = 2
    result = fit(data, "grm", se=False)
    assert np.isnan(result.params.loc["item1", "b3"])
    assert result.params.loc["item2":, "b3"].notna().all()


def test_declared_categories_and_bad_answers():
    frame = pd.DataFrame({"q1": [1, 2, 3, 2, 1, 3] * 20, "q2": [1, 1, 2, 3, 3, 2] * 20})
    result = fit(frame, "grm", categories={"q1": [1, 2, 3], "q2": [1, 2, 3]}, se=False)
    assert result.codes == ((1.0, 2.0, 3.0), (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="q1.*not one of its codes"):
        fit(frame.replace({3: 9}), "grm", categories={"q1": [1, 2, 3]})
    with pytest.raises(ValueError, match="binary"):
        fit(frame, "2pl")
    with pytest.raises(ValueError, match="unknown IRT model"):
        fit(frame, "3pl")
    with pytest.raises(ValueError, match="fewer than two"):
        fit(frame.assign(q2=1), "grm")
    with pytest.raises(ValueError, match="not a number"):
        fit(frame.astype(object).assign(q2="x"), "grm")


def test_all_binary_patterns_identical_under_permutation(lsat6):
    # Row order does not matter: the likelihood depends on pattern counts only.
    shuffled = lsat6.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a = fit(lsat6, "2pl", se=False)
    b = fit(shuffled, "2pl", se=False)
    assert a.loglik == pytest.approx(b.loglik, abs=1e-8)
    np.testing.assert_allclose(a.params, b.params, atol=1e-6)
