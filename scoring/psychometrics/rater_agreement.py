"""Agreement of single items and of paired measurements: Cohen's kappa, Bland–Altman.

``kappa`` follows ``psych::cohen.kappa`` (Revelle): Cohen's (1960) kappa and weighted
kappa (Cohen 1968) with the large-sample variances of Fleiss, Cohen & Everitt (1969) as
psych computes them, and normal-theory confidence bounds ``kappa -/+ z sqrt(var)``.

``bland_altman`` gives the mean difference and the 95 % limits of agreement
``mean -/+ 1.96 SD`` with the confidence intervals of Bland & Altman (1999, section 3.2):
the mean difference ``+/- t(n-1) SD / sqrt(n)``, each limit ``+/- t(n-1) SD
sqrt(1/n + 1.96^2 / (2 (n - 1)))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from scoring.psychometrics.cfa import numeric_values
from scoring.psychometrics.results import Estimate, _clean

WEIGHTS = (None, "linear", "quadratic")


def _paired(a: Any, b: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.DataFrame(
        {"a": pd.Series(a).reset_index(drop=True), "b": pd.Series(b).reset_index(drop=True)}
    )
    if len(pd.Series(a)) != len(pd.Series(b)):
        raise ValueError(f"{what}: the two series have different lengths")
    x = numeric_values(frame, ["a", "b"], what)
    keep = ~np.isnan(x).any(axis=1)
    return x[keep, 0], x[keep, 1]


def _weight_matrix(k: int, weights: str | None) -> np.ndarray:
    i, j = np.indices((k, k))
    if weights is None:
        return (i == j).astype(float)
    if k < 2:
        return np.ones((k, k))
    if weights == "linear":
        return 1.0 - np.abs(i - j) / (k - 1)
    if weights == "quadratic":
        return 1.0 - (i - j) ** 2 / (k - 1) ** 2
    raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")


def kappa(
    rater1: Any,
    rater2: Any,
    weights: str | None = None,
    *,
    categories: Sequence[float] | None = None,
    ci: float = 0.95,
) -> Estimate:
    """Cohen's kappa (``weights=None``) or weighted kappa of two raters, as psych::cohen.kappa.

    Rows missing either rating are dropped. ``categories``: all possible codes in order
    (default: the codes observed with either rater), which matters for the weights.
    ``extra`` holds the observed and chance agreement, the table and the standard error.
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
    a, b = _paired(rater1, rater2, "kappa")
    n = len(a)
    if n < 2:
        raise ValueError("kappa needs at least 2 rated subjects")
    levels = (
        np.unique(np.concatenate([a, b])) if categories is None else np.asarray(categories, float)
    )
    unknown = sorted(set(np.unique(np.concatenate([a, b]))) - set(levels))
    if unknown:
        raise ValueError(f"ratings outside categories: {unknown}")
    k = len(levels)
    ia = np.searchsorted(levels, a)
    ib = np.searchsorted(levels, b)
    table = np.zeros((k, k))
    np.add.at(table, (ia, ib), 1.0)
    x = table / n
    rs, cs = x.sum(axis=1), x.sum(axis=0)
    w = _weight_matrix(k, weights)
    po_w = float(np.sum(w * x))
    pc_w = float(np.sum(w * np.outer(rs, cs)))
    if pc_w >= 1.0:
        raise ValueError("kappa is undefined: chance agreement is 1 (a single category)")
    value = (po_w - pc_w) / (1.0 - pc_w)
    if weights is None:
        # psych's Vark (Fleiss, Cohen & Everitt 1969)
        po, pc = po_w, pc_w
        diag = np.diag(x)
        term1 = np.sum(diag * ((1 - pc) - (rs + cs) * (1 - po)) ** 2)
        m2 = cs[:, None] + rs[None, :]
        off = ~np.eye(k, dtype=bool)
        term2 = (1 - po) ** 2 * np.sum((x * m2**2)[off])
        var = (term1 + term2 - (po * pc - 2 * pc + po) ** 2) / (n * (1 - pc) ** 4)
    else:
        # psych's Varkw, with its marginal weights colw[j] = sum_i w_ij cs_i and
        # roww[i] = rs_i sum_j w_ij
        colw = (w * cs[:, None]).sum(axis=0)
        roww = (w * rs[:, None]).sum(axis=1)
        m = colw[:, None] + roww[None, :]
        inner = np.sum(x * (w * (1 - pc_w) - m * (1 - po_w)) ** 2)
        var = (inner - (po_w * pc_w - 2 * pc_w + po_w) ** 2) / (n * (1 - pc_w) ** 4)
    var = max(float(var), 0.0)
    z = stats.norm.ppf(1 - (1 - ci) / 2)
    se = float(np.sqrt(var))
    name = "Cohen's kappa" if weights is None else f"weighted kappa ({weights} weights)"
    return Estimate(
        value=float(value),
        n=int(n),
        ci_low=float(value - z * se),
        ci_high=float(value + z * se),
        ci_level=ci,
        method=f"{name}, Fleiss-Cohen-Everitt variance (as psych::cohen.kappa)",
        extra={
            "se": se,
            "observed_agreement": po_w,
            "chance_agreement": pc_w,
            "categories": [float(v) for v in levels],
            "table": table.astype(int).tolist(),
            "weights": weights,
        },
    )


@dataclass(frozen=True)
class BlandAltman:
    """Mean difference and limits of agreement, each with its confidence interval."""

    n: int
    mean_difference: Estimate
    lower_limit: Estimate
    upper_limit: Estimate
    sd_difference: float
    proportional_bias: Estimate

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(
            {
                "n": self.n,
                "mean_difference": self.mean_difference.to_dict(),
                "lower_limit": self.lower_limit.to_dict(),
                "upper_limit": self.upper_limit.to_dict(),
                "sd_difference": self.sd_difference,
                "proportional_bias": self.proportional_bias.to_dict(),
            }
        )


def bland_altman(a: Any, b: Any, *, ci: float = 0.95, z: float = 1.96) -> BlandAltman:
    """Bland–Altman analysis of paired measurements ``a`` and ``b`` (difference a - b).

    Rows missing either value are dropped. Limits of agreement ``mean -/+ z SD`` with the
    Bland & Altman (1999) CIs; ``proportional_bias`` is the slope of the difference on
    the pair mean (OLS, t CI).
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
    x, y = _paired(a, b, "bland_altman")
    n = len(x)
    if n < 3:
        raise ValueError("bland_altman needs at least 3 pairs")
    d = x - y
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    t = float(stats.t.ppf(1 - (1 - ci) / 2, n - 1))
    se_mean = sd / np.sqrt(n)
    se_limit = sd * np.sqrt(1.0 / n + z**2 / (2.0 * (n - 1)))
    lo, hi = mean - z * sd, mean + z * sd

    def est(value: float, se: float, method: str) -> Estimate:
        return Estimate(
            value=value,
            n=n,
            ci_low=value - t * se,
            ci_high=value + t * se,
            ci_level=ci,
            method=method,
            extra={"se": float(se)},
        )

    avg = (x + y) / 2.0
    slope = stats.linregress(avg, d)
    t_slope = float(stats.t.ppf(1 - (1 - ci) / 2, n - 2))
    return BlandAltman(
        n=n,
        mean_difference=est(mean, se_mean, "mean difference (bias), t CI"),
        lower_limit=est(lo, se_limit, "lower limit of agreement (Bland & Altman 1999 CI)"),
        upper_limit=est(hi, se_limit, "upper limit of agreement (Bland & Altman 1999 CI)"),
        sd_difference=sd,
        proportional_bias=Estimate(
            value=float(slope.slope),
            n=n,
            ci_low=float(slope.slope - t_slope * slope.stderr),
            ci_high=float(slope.slope + t_slope * slope.stderr),
            ci_level=ci,
            method="slope of difference on mean (OLS)",
            extra={"p": float(slope.pvalue)},
        ),
    )
