"""Differential item functioning by ordinal logistic regression.

For every item three nested proportional-odds (cumulative logit) models are fitted with
statsmodels' ``OrderedModel`` (Zumbo 1999; Swaminathan & Rogers 1990; Crane et al. 2006,
as R ``lordif``)::

    model 1: item ~ matching score
    model 2: item ~ matching score + group
    model 3: item ~ matching score + group + group x matching score

Likelihood-ratio tests: uniform DIF = 2 vs 1, non-uniform DIF = 3 vs 2, total = 3 vs 1
(df = number of groups - 1, or twice that for the total). Effect sizes are changes in
pseudo-R^2 (McFadden and Nagelkerke). An item is flagged when the test's p < ``alpha``
(default .01) **and** its pseudo-R^2 change >= ``r2_change`` (default 0.02, McFadden by
default as lordif).

Speed: the likelihood depends on the data only through the counts of distinct
(item response, matching score, group) patterns, so the models are fitted on those
patterns weighted by their counts -- the same likelihood as fitting every row.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.tools.numdiff import approx_fprime

from scoring.psychometrics.cfa import numeric_values
from scoring.psychometrics.results import _clean

PseudoR2 = Literal["mcfadden", "nagelkerke"]


class _CountWeightedOrderedModel(OrderedModel):
    """OrderedModel whose log-likelihood weights each row by a frequency count."""

    def __init__(self, endog: np.ndarray, exog: np.ndarray, counts: np.ndarray, **kwds: Any):
        super().__init__(endog, exog, **kwds)
        self._counts = np.asarray(counts, dtype=np.float64)

    def loglike(self, params: np.ndarray) -> float:
        return float(self._counts @ self.loglikeobs(params))

    def score(self, params: np.ndarray) -> np.ndarray:
        """Analytic gradient of the weighted log-likelihood (logit link).

        statsmodels differentiates numerically; this is the same derivative in closed
        form, including OrderedModel's threshold parameterisation (first threshold, then
        log increments).
        """
        low, upp = self._bounds(params)
        prob = np.maximum(self.prob(low, upp), 1e-300)
        f_low, f_upp = self.pdf(low), self.pdf(upp)  # pdf(+-inf) = 0
        w = self._counts / prob
        g_beta = -(w * (f_upp - f_low)) @ self.exog
        k = self.k_levels - 1
        # d loglik / d threshold m (m = 1..k): +f_upp where m is the upper bound, -f_low
        # where it is the lower bound
        g_t = np.bincount(self.endog, weights=w * f_upp, minlength=k + 1)[:k]
        g_t = g_t - np.bincount(self.endog, weights=w * f_low, minlength=k + 1)[1 : k + 1]
        th = params[-k:]
        tail = np.cumsum(g_t[::-1])[::-1]  # sum over thresholds m >= l
        g_u = np.concatenate(([tail[0]], tail[1:] * np.exp(th[1:])))
        return np.concatenate([g_beta, g_u])

    def hessian(self, params: np.ndarray) -> np.ndarray:
        """Hessian by differencing the analytic gradient (used for standard errors)."""
        return approx_fprime(params, self.score, centered=True)

    @property
    def start_params(self) -> np.ndarray:
        """Null-model thresholds from the count-weighted category shares."""
        freq = np.bincount(self.endog, weights=self._counts) / self._counts.sum()
        start = self.distr.ppf(np.clip(freq.cumsum(), 0, 1))
        thresholds = self.transform_reverse_threshold_params(start)
        return np.concatenate((np.zeros(self.k_vars), thresholds))


@dataclass(frozen=True)
class DIFResult:
    """Per-item DIF statistics (``table``) and the flagging criterion used."""

    table: pd.DataFrame
    group_levels: tuple[Any, ...]
    matching: str
    alpha: float
    r2_change: float
    pseudo_r2: str
    n: int

    @property
    def flagged(self) -> list[str]:
        """Items flagged for uniform or non-uniform DIF."""
        return list(self.table.loc[self.table["flagged"], "item"])

    @property
    def criterion(self) -> str:
        """The flagging rule in words."""
        name = "McFadden" if self.pseudo_r2 == "mcfadden" else "Nagelkerke"
        return (
            f"likelihood-ratio p < {self.alpha:g} and {name} pseudo-R2 change >= "
            f"{self.r2_change:g} (uniform: model 2 vs 1; non-uniform: 3 vs 2)"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(
            {
                "n": self.n,
                "matching": self.matching,
                "group_levels": [str(g) for g in self.group_levels],
                "criterion": self.criterion,
                "flagged": self.flagged,
                "items": self.table.to_dict(orient="records"),
            }
        )


def _null_loglike(y: np.ndarray, counts: np.ndarray) -> float:
    """Log-likelihood of the thresholds-only model (observed category shares)."""
    totals = pd.Series(counts).groupby(y).sum().to_numpy(dtype=np.float64)
    totals = totals[totals > 0]
    return float(np.sum(totals * np.log(totals / totals.sum())))


def _fit(
    y: np.ndarray, exog: np.ndarray, counts: np.ndarray, start: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Fit one model; ``start`` = the nested model's estimates (new slopes start at 0)."""
    model = _CountWeightedOrderedModel(y, exog, counts, distr="logit")
    if start is not None:
        k_new = exog.shape[1] - (start.size - (model.k_levels - 1))
        n_beta = start.size - (model.k_levels - 1)
        start = np.concatenate([start[:n_beta], np.zeros(k_new), start[n_beta:]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(start_params=start, method="bfgs", disp=False, maxiter=2000, gtol=1e-7)
    return float(res.llf), np.asarray(res.params)


def _pseudo_r2(ll: float, ll0: float, n: int) -> tuple[float, float]:
    mcfadden = 1.0 - ll / ll0
    cox_snell = 1.0 - np.exp(2.0 * (ll0 - ll) / n)
    nagelkerke = cox_snell / (1.0 - np.exp(2.0 * ll0 / n))
    return float(mcfadden), float(nagelkerke)


def _patterns(
    y: np.ndarray, score: np.ndarray, g_idx: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (response, score, group) patterns and their counts."""
    y_values, y_idx = np.unique(y, return_inverse=True)
    s_values, s_idx = np.unique(score, return_inverse=True)
    key = (y_idx.astype(np.int64) * s_values.size + s_idx) * n_groups + g_idx
    keys, counts = np.unique(key, return_counts=True)
    g = keys % n_groups
    rest = keys // n_groups
    return y_values[rest // s_values.size], s_values[rest % s_values.size], g, counts


def _item_dif(y: np.ndarray, score: np.ndarray, g_idx: np.ndarray, n_groups: int) -> dict[str, Any]:
    """Fit the three models for one item; returns LR statistics and pseudo-R^2 values."""
    yy, sc, g, counts = _patterns(y, score, g_idx, n_groups)
    centred = sc - float(score.mean())
    dummies = (g[:, None] == np.arange(1, n_groups)[None, :]).astype(np.float64)
    k = n_groups - 1
    x1 = centred[:, None]
    x2 = np.column_stack([centred, dummies])
    x3 = np.column_stack([centred, dummies, dummies * centred[:, None]])
    n = int(counts.sum())
    ll0 = _null_loglike(yy, counts)
    ll1, b1 = _fit(yy, x1, counts)
    ll2, b2 = _fit(yy, x2, counts, b1)
    ll3, _ = _fit(yy, x3, counts, b2)
    # guard against an optimizer stopping short of the nested model's optimum
    ll2 = max(ll2, ll1)
    ll3 = max(ll3, ll2)
    r = {m: _pseudo_r2(ll, ll0, n) for m, ll in ((1, ll1), (2, ll2), (3, ll3))}
    chi12, chi23, chi13 = 2 * (ll2 - ll1), 2 * (ll3 - ll2), 2 * (ll3 - ll1)
    return {
        "n": n,
        "loglik_1": ll1,
        "loglik_2": ll2,
        "loglik_3": ll3,
        "chi2_uniform": chi12,
        "df_uniform": k,
        "p_uniform": float(stats.chi2.sf(chi12, k)),
        "chi2_nonuniform": chi23,
        "df_nonuniform": k,
        "p_nonuniform": float(stats.chi2.sf(chi23, k)),
        "chi2_total": chi13,
        "df_total": 2 * k,
        "p_total": float(stats.chi2.sf(chi13, 2 * k)),
        "r2_mcfadden_uniform": r[2][0] - r[1][0],
        "r2_mcfadden_nonuniform": r[3][0] - r[2][0],
        "r2_mcfadden_total": r[3][0] - r[1][0],
        "r2_nagelkerke_uniform": r[2][1] - r[1][1],
        "r2_nagelkerke_nonuniform": r[3][1] - r[2][1],
        "r2_nagelkerke_total": r[3][1] - r[1][1],
        "beta_change": float(abs(b2[0] - b1[0]) / abs(b1[0])) if b1[0] != 0 else np.nan,
    }


def dif(
    items: pd.DataFrame,
    group: pd.Series,
    *,
    matching: Literal["total", "rest"] = "total",
    alpha: float = 0.01,
    r2_change: float = 0.02,
    pseudo_r2: PseudoR2 = "mcfadden",
    progress: Any = None,
) -> DIFResult:
    """Ordinal logistic regression DIF of each item (column) between groups.

    ``items`` holds integer item scores of one unidimensional scale; ``group`` one label
    per row (two or more groups). The matching variable is the scale's sum score
    (``"total"``) or the sum of the other items (``"rest"``); rows with a missing item or
    group are dropped. ``progress`` is an optional callable run after each item.
    """
    if not isinstance(items, pd.DataFrame):
        raise TypeError("items must be a pandas DataFrame")
    if items.shape[1] < 2:
        raise ValueError("DIF needs at least two items (the matching score is their sum)")
    if matching not in ("total", "rest"):
        raise ValueError(f"matching must be 'total' or 'rest' (got {matching!r})")
    if pseudo_r2 not in ("mcfadden", "nagelkerke"):
        raise ValueError(f"pseudo_r2 must be 'mcfadden' or 'nagelkerke' (got {pseudo_r2!r})")
    group = pd.Series(group)
    if len(group) != len(items):
        raise ValueError(f"group has {len(group)} rows, items have {len(items)}")
    x = numeric_values(items, list(items.columns))
    g = group.to_numpy()
    keep = ~np.isnan(x).any(axis=1) & pd.notna(g)
    x, g = x[keep], g[keep]
    levels = tuple(pd.unique(g))
    with contextlib.suppress(TypeError):
        levels = tuple(sorted(levels))
    if len(levels) < 2:
        raise ValueError("DIF needs at least two groups with complete responses")
    g_idx = np.zeros(g.size, dtype=np.int64)
    for k, lev in enumerate(levels):
        g_idx[g == lev] = k
    total = x.sum(axis=1)
    rows = []
    for j, name in enumerate(items.columns):
        y = x[:, j]
        if np.unique(y).size < 2:
            raise ValueError(f"item {name!r} has a single response value; DIF is undefined")
        score = total - y if matching == "rest" else total
        rows.append({"item": str(name), **_item_dif(y, score, g_idx, len(levels))})
        if progress is not None:
            progress()
    table = pd.DataFrame(rows)
    r2 = f"r2_{pseudo_r2}"
    table["uniform_dif"] = (table["p_uniform"] < alpha) & (table[f"{r2}_uniform"] >= r2_change)
    table["nonuniform_dif"] = (table["p_nonuniform"] < alpha) & (
        table[f"{r2}_nonuniform"] >= r2_change
    )
    table["flagged"] = table["uniform_dif"] | table["nonuniform_dif"]
    return DIFResult(
        table=table,
        group_levels=levels,
        matching=matching,
        alpha=alpha,
        r2_change=r2_change,
        pseudo_r2=pseudo_r2,
        n=int(keep.sum()),
    )
