"""Funnel plots of proportions: units against a target with 95 % and 99.8 % control limits.

Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
2005;24(8):1185-1202. A unit with ``k`` events out of ``n`` is plotted at ``(n, k / n)``;
under the null hypothesis every unit has the target proportion ``p0`` (by default the
register mean, sum of k over sum of n), so its count is Binomial(n, p0). The control
limits are the 2.5/97.5 % and 0.1/99.9 % points of that distribution divided by ``n``.

Two methods:

- ``"exact"`` (default): binomial quantiles with the paper's interpolation (Appendix
  A.1.1): for a lower limit ``r`` is the smallest count with ``P(Y <= r) >= p``,
  ``alpha = (P(Y <= r) - p) / (P(Y <= r) - P(Y <= r - 1))`` and the limit is
  ``(r - alpha) / n``. Upper limits are the mirror image (the lower limit of the number
  of non-events, Binomial(n, 1 - p0)), so that a unit lies above the upper 95 % limit
  exactly when ``P(Y >= k) < 0.025`` and below the lower one exactly when
  ``P(Y <= k) < 0.025`` (one-sided exact binomial tails; 0.001 for 99.8 %). The
  interpolation keeps the curves smooth in ``n`` without moving any unit across them.
- ``"normal"``: ``p0 +/- z * sqrt(p0 (1 - p0) / n)`` (the paper's normal approximation,
  section 4.1), cut to 0..1.

By default no overdispersion adjustment: the limits describe chance alone. On request
(``funnel(..., overdispersion=True)``) the paper's multiplicative adjustment (section 6):
each unit's z-score ``z = (k/n - p0) / sqrt(p0 (1 - p0) / n)``, the z-scores winsorised
at their 10 % and 90 % points (numpy's default quantiles, Hyndman & Fan type 7), the
dispersion factor ``phi = mean(z_w ** 2)``, and normal limits
``p0 +/- z * sqrt(phi p0 (1 - p0) / n)``; phi below 1 is not used to narrow them.
Pure numpy/scipy; no web framework.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import binom, norm

Method = Literal["exact", "normal"]
WINSOR = 0.1  # Spiegelhalter 2005, section 6: 10 % winsorising at each end
# Two-sided 95 % and 99.8 % limits: the 2.5/97.5 % and 0.1/99.9 % points.
LEVELS = {"95": 0.025, "99.8": 0.001}


@dataclass(frozen=True)
class Limits:
    """Control limits for a unit of size ``n`` around ``target`` (proportions 0..1)."""

    n: int
    lower95: float
    upper95: float
    lower998: float
    upper998: float


@dataclass(frozen=True)
class UnitPoint:
    """One unit on the funnel: ``k`` of ``n``, its proportion and where it lies.

    ``position`` is ``"inside"``, ``"above95"``/``"below95"`` (outside the 95 % limits but
    inside 99.8 %) or ``"above998"``/``"below998"`` (outside the 99.8 % limits).
    """

    label: str
    k: int
    n: int
    proportion: float
    limits: Limits
    position: str


@dataclass(frozen=True)
class Funnel:
    """All units of one indicator against the target, with the method used.

    ``phi`` is the dispersion factor the limits were widened by (1: none) and
    ``phi_estimate`` the estimate it came from (None when no adjustment was asked for).
    """

    target: float
    method: Method
    points: tuple[UnitPoint, ...]
    phi: float = 1.0
    phi_estimate: float | None = None


def _check(target: float, n: int) -> None:
    if not 0.0 <= target <= 1.0 or math.isnan(target):
        raise ValueError(f"target must be a proportion between 0 and 1 (got {target!r})")
    if n < 1:
        raise ValueError(f"a unit needs at least one case (n = {n})")


def limit(target: float, n: int, p: float, method: Method = "exact", phi: float = 1.0) -> float:
    """The ``p`` point (0 < p < 1) of a proportion of ``n`` cases under ``target``;
    ``phi`` (normal method only) multiplies the variance."""
    _check(target, n)
    if method == "normal":
        z = float(norm.ppf(p))
        spread = math.sqrt(phi * target * (1 - target) / n)
        return min(max(target + z * spread, 0.0), 1.0)
    if phi != 1.0:
        raise ValueError("an overdispersion factor needs the normal method")
    if method != "exact":
        raise ValueError(f"method must be 'exact' or 'normal' (got {method!r})")
    if target in (0.0, 1.0):  # a degenerate binomial: every unit has the target
        return target
    if p > 0.5:  # upper limit: mirror of the lower limit of the non-events
        return 1.0 - limit(1.0 - target, n, 1.0 - p, method)
    r = int(binom.ppf(p, n, target))  # smallest r with P(Y <= r) >= p
    at_r = float(binom.cdf(r, n, target))
    below = float(binom.cdf(r - 1, n, target)) if r > 0 else 0.0
    alpha = (at_r - p) / (at_r - below)
    return min(max((r - alpha) / n, 0.0), 1.0)


def limit_curve(
    target: float,
    ns: Sequence[int] | np.ndarray,
    p: float,
    method: Method = "exact",
    phi: float = 1.0,
) -> np.ndarray:
    """:func:`limit` for many unit sizes at once (the curves of a funnel plot): the same
    values, from one vectorised scipy call per quantity instead of one call per size."""
    n = np.asarray(ns, dtype=float)
    if n.ndim != 1 or n.size == 0:
        raise ValueError("unit sizes must be a non-empty list")
    _check(target, int(n.min()))
    if method == "normal":
        spread = np.sqrt(phi * target * (1 - target) / n)
        return np.clip(target + float(norm.ppf(p)) * spread, 0.0, 1.0)
    if phi != 1.0:
        raise ValueError("an overdispersion factor needs the normal method")
    if method != "exact":
        raise ValueError(f"method must be 'exact' or 'normal' (got {method!r})")
    if target in (0.0, 1.0):
        return np.full(n.shape, target)
    if p > 0.5:
        return 1.0 - limit_curve(1.0 - target, n, 1.0 - p, method)
    r = np.floor(binom.ppf(p, n, target))
    at_r = binom.cdf(r, n, target)
    below = np.where(r > 0, binom.cdf(r - 1, n, target), 0.0)
    alpha = (at_r - p) / (at_r - below)
    return np.clip((r - alpha) / n, 0.0, 1.0)


def control_limits(target: float, n: int, method: Method = "exact", phi: float = 1.0) -> Limits:
    """The 95 % and 99.8 % control limits for a unit of ``n`` cases."""
    lo95, lo998 = LEVELS["95"], LEVELS["99.8"]
    return Limits(
        n,
        limit(target, n, lo95, method, phi),
        limit(target, n, 1 - lo95, method, phi),
        limit(target, n, lo998, method, phi),
        limit(target, n, 1 - lo998, method, phi),
    )


def dispersion(units: Sequence[tuple[str, int, int]], target: float) -> float:
    """Spiegelhalter's multiplicative overdispersion estimate for units ``(label, k, n)``
    (n > 0): the mean square of their z-scores winsorised at the 10 % and 90 % points."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"overdispersion needs a target strictly between 0 and 1 ({target})")
    z = np.array([(k / n - target) / math.sqrt(target * (1 - target) / n) for _, k, n in units])
    if z.size == 0:
        raise ValueError("no units to estimate the overdispersion from")
    low, high = np.quantile(z, [WINSOR, 1 - WINSOR])
    return float(np.mean(np.clip(z, low, high) ** 2))


def _position(proportion: float, limits: Limits) -> str:
    if proportion > limits.upper998:
        return "above998"
    if proportion < limits.lower998:
        return "below998"
    if proportion > limits.upper95:
        return "above95"
    if proportion < limits.lower95:
        return "below95"
    return "inside"


def funnel(
    units: Sequence[tuple[str, int, int]],
    *,
    target: float | None = None,
    method: Method = "exact",
    overdispersion: bool = False,
) -> Funnel:
    """Place each unit ``(label, k, n)`` on the funnel.

    ``target`` defaults to the pooled proportion of all units given (the register mean).
    Units with ``n == 0`` are left out; ``0 <= k <= n`` is required. ``overdispersion``
    widens the limits by the multiplicative factor of :func:`dispersion` (when above 1),
    with the normal method.
    """
    for label, k, n in units:
        if not 0 <= k <= n:
            raise ValueError(f"{label}: events must be between 0 and n (k = {k}, n = {n})")
    counted = [(label, k, n) for label, k, n in units if n > 0]
    if target is None:
        total = sum(n for _, _, n in counted)
        if total == 0:
            raise ValueError("no unit has any cases: the register mean is undefined")
        target = sum(k for _, k, _ in counted) / total
    phi, estimate = 1.0, None
    if overdispersion:
        estimate = dispersion(counted, target)
        method, phi = "normal", max(estimate, 1.0)
    points = []
    if counted:  # the four limits of every unit at once (limit_curve: the same values)
        sizes = [n for _, _, n in counted]
        lo95, lo998 = LEVELS["95"], LEVELS["99.8"]
        curves = [
            limit_curve(target, sizes, p, method, phi).tolist()
            for p in (lo95, 1 - lo95, lo998, 1 - lo998)
        ]
        for index, (label, k, n) in enumerate(counted):
            limits = Limits(n, *(curve[index] for curve in curves))
            points.append(UnitPoint(label, k, n, k / n, limits, _position(k / n, limits)))
    return Funnel(target, method, tuple(points), phi, estimate)
