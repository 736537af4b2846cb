"""Person scores: MAP against ltm, EAP against direct integration, ML properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit
from scipy.stats import norm

from tests.irt.conftest import LSAT6_PATTERNS


def _patterns():
    import pandas as pd

    rows = [[int(c) for c in p] for p in LSAT6_PATTERNS]
    return pd.DataFrame(rows, columns=[f"Item{i}" for i in range(1, 6)])


def test_map_matches_ltm_empirical_bayes(lsat6_2pl):
    # ltm::factor.scores(ltm(LSAT ~ z1)) "Empirical Bayes" = posterior mode with SE from
    # the curvature, first and last patterns as printed in the rpubs page cited in
    # conftest.py (3 decimals): 00000 -1.895 (0.795), 00001 -1.479 (0.796),
    # 11011 -0.022 (0.827), 11111 0.606 (0.855).
    scores = lsat6_2pl.theta(_patterns(), method="MAP")
    expected = {0: (-1.895, 0.795), 1: (-1.479, 0.796), 25: (-0.022, 0.827), 29: (0.606, 0.855)}
    for row, (theta, se) in expected.items():
        assert scores["theta"].iloc[row] == pytest.approx(theta, abs=0.003)
        assert scores["se"].iloc[row] == pytest.approx(se, abs=0.003)


def test_lsat7_eap_and_map_match_mirt(lsat7, lsat7_2pl):
    # mirt fscores() of the LSAT7 2PL for the first six answer patterns (00000, 00001,
    # 00010, 00011, 00100, 00101), philchalmers/mirt inst/tests/test-01-mirtOne.R:
    # EAP -1.8665957, -1.5266920, -1.5134024, -1.1852276, -1.0946830, -0.7666992 and MAP
    # -1.8165552, -1.4946906, -1.4822982, -1.1789899, -1.0958928, -0.7951026. mirt's own
    # test tolerance is 0.01; its item parameters differ from ours in the 4th decimal.
    patterns = lsat7.drop_duplicates().iloc[:6]
    eap = lsat7_2pl.theta(patterns, "EAP")["theta"].to_numpy()
    map_ = lsat7_2pl.theta(patterns, "MAP")["theta"].to_numpy()
    mirt_eap = [-1.8665957, -1.5266920, -1.5134024, -1.1852276, -1.0946830, -0.7666992]
    mirt_map = [-1.8165552, -1.4946906, -1.4822982, -1.1789899, -1.0958928, -0.7951026]
    np.testing.assert_allclose(eap, mirt_eap, atol=0.005)
    np.testing.assert_allclose(map_, mirt_map, atol=0.002)


def test_eap_equals_direct_integration(lsat6_2pl):
    # Posterior mean and SD recomputed by adaptive integration (not our quadrature).
    a, d = lsat6_2pl.items.a, lsat6_2pl.items.d[:, 0]
    patterns = _patterns()
    scores = lsat6_2pl.theta(patterns, method="EAP")
    for row in (0, 10, 29):
        x = patterns.iloc[row].to_numpy()

        def lik(t, x=x):
            p = expit(a * t + d)
            return np.prod(np.where(x == 1, p, 1 - p)) * norm.pdf(t)

        z = integrate.quad(lik, -10, 10)[0]
        m1 = integrate.quad(lambda t: t * lik(t), -10, 10)[0] / z
        m2 = integrate.quad(lambda t: t * t * lik(t), -10, 10)[0] / z
        assert scores["theta"].iloc[row] == pytest.approx(m1, abs=1e-4)
        assert scores["se"].iloc[row] == pytest.approx(np.sqrt(m2 - m1**2), abs=1e-4)


def test_ml_extremes_and_score_equation(lsat6_2pl):
    # ML: all-wrong / all-right patterns have no finite maximum (as mirt returns -Inf /
    # Inf); elsewhere the 2PL score equation sum a_i (x_i - P_i(theta)) = 0 holds and
    # SE = 1 / sqrt(test information) (Lord 1980, ch. 5).
    patterns = _patterns()
    scores = lsat6_2pl.theta(patterns, method="ML")
    assert scores["theta"].iloc[0] == -np.inf and scores["theta"].iloc[-1] == np.inf
    a, d = lsat6_2pl.items.a, lsat6_2pl.items.d[:, 0]
    for row in range(1, 29):
        t = scores["theta"].iloc[row]
        p = expit(a * t + d)
        x = patterns.iloc[row].to_numpy()
        assert abs(np.sum(a * (x - p))) < 1e-6
        info = np.sum(a**2 * p * (1 - p))
        assert scores["se"].iloc[row] == pytest.approx(1 / np.sqrt(info), rel=1e-6)


def test_missing_answers_are_skipped(lsat6_2pl):
    # A pattern with items 4-5 missing scores like the 3-item test (same likelihood).
    patterns = _patterns().astype(float).iloc[[20]]
    partial = patterns.copy()
    partial[["Item4", "Item5"]] = np.nan
    full_eap = lsat6_2pl.theta(patterns)["theta"].iloc[0]
    part = lsat6_2pl.theta(partial)
    a, d = lsat6_2pl.items.a[:3], lsat6_2pl.items.d[:3, 0]
    x = patterns.iloc[0, :3].to_numpy()

    def lik(t):
        p = expit(a * t + d)
        return np.prod(np.where(x == 1, p, 1 - p)) * norm.pdf(t)

    z = integrate.quad(lik, -10, 10)[0]
    m1 = integrate.quad(lambda t: t * lik(t), -10, 10)[0] / z
    assert part["theta"].iloc[0] == pytest.approx(m1, abs=1e-4)
    assert part["theta"].iloc[0] != pytest.approx(full_eap, abs=1e-3)
    nothing = patterns.copy()
    nothing[:] = np.nan
    assert lsat6_2pl.theta(nothing).isna().all(axis=None)


def test_unknown_method(lsat6_2pl):
    with pytest.raises(ValueError, match="unknown theta method"):
        lsat6_2pl.theta(_patterns(), method="WLE")
