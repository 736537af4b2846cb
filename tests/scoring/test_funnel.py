"""Funnel-plot control limits (scoring/funnel.py) against hand-worked values.

Method: Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
2005;24:1185-1202 (normal approximation section 4.1; exact binomial limits with
interpolation, Appendix A.1.1). Every expected number below is worked by hand from the
binomial probabilities or the normal quantiles written next to it, not by the code.
"""

import pytest

from scoring.funnel import control_limits, funnel, limit, limit_curve

# Standard normal quantiles (any table): z(0.975) = 1.959964, z(0.999) = 3.090232.


def test_normal_limits_p08_n100():
    # SE = sqrt(0.8 * 0.2 / 100) = 0.04; 0.8 -/+ 1.959964 * 0.04 and 0.8 -/+ 3.090232 * 0.04
    lim = control_limits(0.8, 100, "normal")
    assert lim.lower95 == pytest.approx(0.7216014, abs=1e-6)
    assert lim.upper95 == pytest.approx(0.8783986, abs=1e-6)
    assert lim.lower998 == pytest.approx(0.6763907, abs=1e-6)
    assert lim.upper998 == pytest.approx(0.9236093, abs=1e-6)


def test_normal_limits_are_cut_to_zero_and_one():
    # 0.95 + 3.090232 * sqrt(0.95 * 0.05 / 10) = 0.95 + 0.2130 > 1
    assert control_limits(0.95, 10, "normal").upper998 == 1.0


def test_exact_limits_binomial_10_half():
    # Binomial(10, 0.5) cumulative counts out of 1024: P(Y<=0)=1, <=1: 11, <=2: 56,
    # <=7: 968, <=8: 1013, <=9: 1023.
    # 2.5 %: r = 2, alpha = (56/1024 - 0.025) / (45/1024) = 30.4/45; (2 - alpha)/10
    assert limit(0.5, 10, 0.025) == pytest.approx((2 - 30.4 / 45) / 10, abs=1e-9)
    assert limit(0.5, 10, 0.025) == pytest.approx(0.1324444, abs=1e-7)
    # 0.1 %: r = 1, alpha = (11/1024 - 0.001) / (10/1024) = 0.9976; (1 - alpha)/10
    assert limit(0.5, 10, 0.001) == pytest.approx(0.00024, abs=1e-9)
    # upper limits mirror the lower ones (non-events ~ Binomial(10, 0.5) again):
    # 97.5 %: 1 - 0.1324444; 99.9 %: 1 - 0.00024
    assert limit(0.5, 10, 0.975) == pytest.approx(0.8675556, abs=1e-7)
    assert limit(0.5, 10, 0.999) == pytest.approx(0.99976, abs=1e-9)


def test_exact_limits_agree_with_exact_tail_probabilities():
    # Binomial(10, 0.5): P(Y >= 8) = 56/1024 = 0.055 (not extreme), P(Y >= 9) = 11/1024 =
    # 0.0107 < 0.025 (beyond 95 %), P(Y >= 10) = 1/1024 = 0.00098 < 0.001 (beyond 99.8 %);
    # P(Y <= 1) = 11/1024 < 0.025, P(Y <= 2) = 56/1024 > 0.025.
    units = [(str(k), k, 10) for k in (1, 2, 8, 9, 10)]
    positions = [p.position for p in funnel(units, target=0.5).points]
    assert positions == ["below95", "inside", "inside", "above95", "above998"]


def test_small_unit_is_not_flagged_by_chance():
    # 4 of 5 against a mean of 8/17: P(Y >= 4) = 5 q^4 (1-q) + q^5 with q = 8/17
    # = 0.1298 + 0.0231 = 0.153, far from 0.025: inside the funnel.
    (point,) = funnel([("C", 4, 5)], target=8 / 17).points
    assert point.position == "inside" and point.limits.upper95 > 0.99


def test_exact_approaches_normal_for_large_units():
    # the binomial tends to the normal: at n = 10,000 the two differ by well under 0.001
    exact, approx = control_limits(0.7, 10_000), control_limits(0.7, 10_000, "normal")
    assert exact.lower95 == pytest.approx(approx.lower95, abs=1e-3)
    assert exact.upper998 == pytest.approx(approx.upper998, abs=1e-3)


def test_funnel_target_is_pooled_mean_and_positions():
    # A 90/100, B 50/100, C 70/100: target 210/300 = 0.7; SE = sqrt(0.21/100) = 0.0458258
    # 95 %: 0.7 -/+ 0.0898169; 99.8 %: 0.7 -/+ 0.1416122 -> A above 99.8 %, B below, C inside
    result = funnel([("A", 90, 100), ("B", 50, 100), ("C", 70, 100)], method="normal")
    assert result.target == pytest.approx(0.7)
    assert [p.position for p in result.points] == ["above998", "below998", "inside"]
    assert result.points[0].limits.upper95 == pytest.approx(0.7898169, abs=1e-6)


def test_funnel_between_95_and_998_and_given_target():
    # target 0.7, 80/100 = 0.8: above 0.7898 (95 %) but below 0.8416 (99.8 %)
    result = funnel([("D", 80, 100), ("E", 61, 100)], target=0.7, method="normal")
    assert [p.position for p in result.points] == ["above95", "below95"]


def test_funnel_leaves_out_empty_units_and_refuses_bad_input():
    assert [p.label for p in funnel([("A", 3, 4), ("B", 0, 0)]).points] == ["A"]
    with pytest.raises(ValueError, match="between 0 and n"):
        funnel([("A", 5, 4)])
    with pytest.raises(ValueError, match="no unit has any cases"):
        funnel([("A", 0, 0)])
    with pytest.raises(ValueError, match="method"):
        limit(0.5, 10, 0.025, "poisson")  # type: ignore[arg-type]


def test_limit_curve_gives_the_hand_worked_values_and_equals_limit_per_size():
    # The hand-worked Binomial(10, 0.5) limits above and the normal p0 = 0.8, n = 100 ones,
    # from the vectorised curve; then, as a consistency check over many sizes, targets
    # and levels, the same numbers as the one-size function (itself checked by hand above).
    exact = limit_curve(0.5, [10], 0.025)
    assert exact[0] == pytest.approx((2 - 30.4 / 45) / 10, abs=1e-9)
    assert limit_curve(0.5, [10], 0.999)[0] == pytest.approx(0.99976, abs=1e-9)
    assert limit_curve(0.8, [100], 0.025, "normal")[0] == pytest.approx(0.7216014, abs=1e-6)
    sizes = [1, 2, 3, 5, 10, 17, 40, 99, 250, 1000, 5000]
    for target in (0.0, 0.03, 0.3, 0.5, 0.77, 0.999, 1.0):
        for p in (0.001, 0.025, 0.975, 0.999):
            curve = limit_curve(target, sizes, p)
            for n, value in zip(sizes, curve, strict=True):
                assert value == pytest.approx(limit(target, n, p), abs=1e-12), (target, p, n)
            widened = limit_curve(target, sizes, p, "normal", 1.7)
            for n, value in zip(sizes, widened, strict=True):
                assert value == pytest.approx(limit(target, n, p, "normal", 1.7), abs=1e-12)
    with pytest.raises(ValueError, match="at least one case"):
        limit_curve(0.5, [0, 10], 0.025)
    with pytest.raises(ValueError, match="normal method"):
        limit_curve(0.5, [10], 0.025, "exact", 1.5)
