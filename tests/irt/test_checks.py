"""Model checks: S-X2, Lord-Wingersky, Q3, information, unidimensionality note."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import expit
from scipy.stats import chi2, norm

from scoring.irt import fit
from scoring.irt.checks import (
    information_svg,
    lord_wingersky,
    q3,
    sx2,
    total_information,
    unidimensionality_note,
)
from scoring.irt.simulate import random_items, simulate


def test_lord_wingersky_equals_enumeration():
    # Lord & Wingersky (1984): the recursion gives P(S = s | theta); here checked against
    # summing the probabilities of every answer pattern with that sum.
    items = random_items(3, 4, np.random.default_rng(1))
    theta = np.array([-0.7, 0.4])
    probs = items.probs(theta)
    f = lord_wingersky(probs)
    for q in range(2):
        brute = np.zeros(10)
        for pattern in itertools.product(range(4), repeat=3):
            brute[sum(pattern)] += np.prod([probs[i, c, q] for i, c in enumerate(pattern)])
        np.testing.assert_allclose(f[:, q], brute, atol=1e-14)


def test_sx2_lsat6_equals_direct_computation(lsat6, lsat6_2pl):
    # Orlando & Thissen (2000), eq. 4-5, computed independently: expected proportions
    # from every answer pattern's marginal probability (adaptive integration, not our
    # quadrature), observed proportions by counting; no cells merged (mincell=0).
    a, d = lsat6_2pl.items.a, lsat6_2pl.items.d[:, 0]
    patterns = np.array(list(itertools.product([0, 1], repeat=5)))

    def prob(x):
        def f(t):
            p = expit(a * t + d)
            return np.prod(np.where(x == 1, p, 1 - p)) * norm.pdf(t)

        return integrate.quad(f, -10, 10, epsabs=1e-14)[0]

    marginal = np.array([prob(x) for x in patterns])
    sums = patterns.sum(axis=1)
    data = lsat6.to_numpy()
    scores = data.sum(axis=1)
    result = sx2(lsat6_2pl, lsat6, mincell=0)
    for i in range(5):
        stat = 0.0
        for s in range(1, 5):
            e1 = marginal[(sums == s) & (patterns[:, i] == 1)].sum() / marginal[sums == s].sum()
            n_s = np.sum(scores == s)
            o1 = np.mean(data[scores == s, i])
            stat += n_s * (o1 - e1) ** 2 / (e1 * (1 - e1))
        assert result["S_X2"].iloc[i] == pytest.approx(stat, rel=2e-3)
    # 4 score groups x 2 categories - 4 groups - 2 parameters, as mirt's df.S_X2 for
    # a 5-item 2PL (df 2 in philchalmers/mirt inst/tests/test-01-mirtOne.R, LSAT7)
    assert list(result["df"]) == [2] * 5
    np.testing.assert_allclose(result["p"], chi2.sf(result["S_X2"], 2))


def test_sx2_lsat7_matches_mirt(lsat7, lsat7_2pl):
    # mirt itemfit(mod, X2 = TRUE) for the LSAT7 2PL (philchalmers/mirt
    # inst/tests/test-01-mirtOne.R): S_X2 = 4.749440, 14.451071, 1.270381, 5.237400,
    # 0.941125 with df 2 each. Our parameters differ from mirt's in the 4th decimal
    # (mirt stops EM at TOL 1e-4), hence 0.005 absolute.
    result = sx2(lsat7_2pl, lsat7)
    mirt = [4.749440, 14.451071, 1.270381, 5.237400, 0.941125]
    np.testing.assert_allclose(result["S_X2"], mirt, atol=0.005)
    assert list(result["df"]) == [2] * 5


def test_sx2_polytomous_well_fitting_model():
    # Data simulated from the GRM fit the GRM: S-X2 p-values are not concentrated near 0
    # (with the seed fixed, none below .01 among 8 items).
    rng = np.random.default_rng(11)
    truth = random_items(8, 4, rng)
    data, _ = simulate(truth, 1500, rng)
    result = sx2(fit(data, "grm", se=False), data)
    assert (result["df"] > 0).all()
    assert result["p"].min() > 0.01


def test_q3_equals_direct_residual_correlations(lsat6, lsat6_2pl):
    # Yen (1984): correlation of x - P(theta_EAP) between items, recomputed with the
    # 2PL formula and numpy.corrcoef.
    a, d = lsat6_2pl.items.a, lsat6_2pl.items.d[:, 0]
    theta = lsat6_2pl.theta(lsat6)["theta"].to_numpy()
    resid = lsat6.to_numpy() - expit(a[None, :] * theta[:, None] + d[None, :])
    direct = np.corrcoef(resid.T)
    result = q3(lsat6_2pl, lsat6)
    np.testing.assert_allclose(result.matrix.to_numpy(), direct, atol=1e-10)
    off = direct[~np.eye(5, dtype=bool)]
    assert result.mean_offdiagonal == pytest.approx(off.mean())


def test_q3_flags_a_locally_dependent_pair():
    rng = np.random.default_rng(2)
    truth = random_items(8, 4, rng)
    data, _ = simulate(truth, 1500, rng)
    copy = rng.random(1500) < 0.7  # item8 repeats item1's answer for 70 % of respondents
    data.loc[copy, "item8"] = data.loc[copy, "item1"]
    result = q3(fit(data, "grm", se=False), data)
    pairs = result.pairs(0.2)
    assert {pairs["item1"].iloc[0], pairs["item2"].iloc[0]} == {"item1", "item8"}


def test_information_2pl_formula_and_svg(lsat6_2pl):
    # Birnbaum (1968): I(theta) = sum a^2 P (1 - P) for the 2PL
    a, d = lsat6_2pl.items.a, lsat6_2pl.items.d[:, 0]
    grid = np.array([-2.0, 0.0, 1.5])
    p = expit(a[:, None] * grid + d[:, None])
    np.testing.assert_allclose(
        total_information(lsat6_2pl.items, grid), (a[:, None] ** 2 * p * (1 - p)).sum(axis=0)
    )
    svg = information_svg(lsat6_2pl.items)
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "polyline" in svg


def test_grm_information_equals_expected_squared_score():
    # Fisher information = E[(d log P / d theta)^2] (Samejima 1969), with the derivative
    # taken numerically here.
    items = random_items(3, 5, np.random.default_rng(4))
    theta = np.array([-1.0, 0.3])
    h = 1e-6
    logp_up, logp_dn = np.log(items.probs(theta + h)), np.log(items.probs(theta - h))
    score = (logp_up - logp_dn) / (2 * h)
    expected = (items.probs(theta) * score**2).sum(axis=1)
    np.testing.assert_allclose(items.information(theta), expected, rtol=1e-6)


def test_unidimensionality_note():
    rng = np.random.default_rng(5)
    data, _ = simulate(random_items(10, 4, rng), 1000, rng)
    note = unidimensionality_note(data)
    assert note["ratio"] > 4 and "supports" in note["note"]
    noise = pd.DataFrame(rng.integers(0, 4, (1000, 10)))
    assert unidimensionality_note(noise)["ratio"] < 2
