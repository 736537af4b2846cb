"""Overdispersion-adjusted funnel limits (scoring.funnel, ``overdispersion=True``).

Source: Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
2005;24(8):1185-1202, section 6 (multiplicative overdispersion: phi is the mean of the
squared z-scores after 10 % winsorising at each end; limits p0 +/- z sqrt(phi p0 (1-p0)/n)).
Expected values are worked by hand below (quantiles: Hyndman & Fan type 7).
"""

from __future__ import annotations

import math

import pytest

from scoring.funnel import control_limits, dispersion, funnel

# Five units of 100 cases around p0 = 0.5: shares 0.5 0.6 0.4 0.7 0.3.
# Standard error sqrt(0.5 * 0.5 / 100) = 0.05, so z = 0, 2, -2, 4, -4.
# Sorted -4 -2 0 2 4; type 7: the 10 % point at h = 4 * 0.1 = 0.4 is -4 + 0.4 * 2 = -3.2,
# the 90 % point at h = 3.6 is 2 + 0.6 * 2 = 3.2. Winsorised: -3.2 -2 0 2 3.2.
# phi = (10.24 + 4 + 0 + 4 + 10.24) / 5 = 28.48 / 5 = 5.696.
UNITS = [("A", 50, 100), ("B", 60, 100), ("C", 40, 100), ("D", 70, 100), ("E", 30, 100)]
PHI = 5.696
Z975, Z999 = 1.959963985, 3.090232306  # standard normal 97.5 % and 99.9 % points


def test_dispersion_is_the_mean_square_of_winsorised_z_scores():
    assert dispersion(UNITS, 0.5) == pytest.approx(PHI, rel=1e-12)


def test_limits_are_widened_by_the_square_root_of_phi():
    result = funnel(UNITS, target=0.5, overdispersion=True)
    assert result.method == "normal"
    assert result.phi == pytest.approx(PHI) and result.phi_estimate == pytest.approx(PHI)
    # sqrt(5.696 * 0.25 / 100) = sqrt(0.01424)
    spread = math.sqrt(0.01424)
    d = next(p for p in result.points if p.label == "D")
    assert d.limits.upper95 == pytest.approx(0.5 + Z975 * spread, rel=1e-9)  # 0.7339
    assert d.limits.lower95 == pytest.approx(0.5 - Z975 * spread, rel=1e-9)
    assert d.limits.upper998 == pytest.approx(0.5 + Z999 * spread, rel=1e-9)  # 0.8688
    # 0.7 lies inside the widened limits; without the adjustment it is beyond 99.8 %
    # (P(Y >= 70) for Binomial(100, 0.5) is about 4e-5, below 0.001)
    assert d.position == "inside"
    plain = funnel(UNITS, target=0.5)
    assert next(p for p in plain.points if p.label == "D").position == "above998"
    assert plain.phi == 1.0 and plain.phi_estimate is None


def test_underdispersion_does_not_narrow_the_limits():
    # every unit exactly at the target: all z = 0, phi estimate 0, limits as without it
    units = [("A", 25, 50), ("B", 50, 100), ("C", 100, 200)]
    result = funnel(units, target=0.5, overdispersion=True)
    assert result.phi_estimate == 0.0 and result.phi == 1.0
    for p in result.points:
        assert p.limits == control_limits(0.5, p.n, "normal")


def test_dispersion_needs_a_target_inside_zero_and_one():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        dispersion(UNITS, 1.0)
