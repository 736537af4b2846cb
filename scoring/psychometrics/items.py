"""Item analysis: per-item descriptives, floor/ceiling, corrected item-total r, alpha if deleted.

Also home of the input checks and the vectorised pairwise covariance shared by
``reliability``, ``agreement`` and ``factor``.

Missing data (``missing=``):

* ``"listwise"`` drops every row with a missing item before anything is computed;
* ``"pairwise"`` uses, for each statistic, every row where the items involved are
  observed: per-item descriptives use all answers to that item, and the covariance
  matrix (from which item-rest correlations and alpha-if-deleted follow) uses, for each
  pair of items, the rows where both are answered (as ``psych::alpha`` does by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.psychometrics.results import _clean

MISSING_MODES = ("pairwise", "listwise")


def as_item_frame(
    items: Any, *, min_items: int = 2, min_rows: int = 3, what: str = "items"
) -> pd.DataFrame:
    """Return ``items`` as a float DataFrame, or raise ``ValueError`` explaining what is wrong.

    Checks: 2-D, numeric columns only, no infinite values, at least ``min_items`` columns
    and ``min_rows`` rows with any answer, no column that is entirely missing.
    """
    if isinstance(items, pd.Series):
        items = items.to_frame()
    if not isinstance(items, pd.DataFrame):
        arr = np.asarray(items)
        if arr.ndim != 2:
            raise ValueError(f"{what}: expected a 2-D table (rows x columns), got {arr.ndim}-D")
        items = pd.DataFrame(arr, columns=[f"item{i + 1}" for i in range(arr.shape[1])])
    bad = [str(c) for c in items.columns
           if not (pd.api.types.is_numeric_dtype(items[c]) or items[c].isna().all())]
    if bad:
        raise ValueError(f"{what}: non-numeric column(s) {', '.join(bad)}; "
                         "recode answers to numbers first")
    if items.columns.duplicated().any():
        dup = sorted({str(c) for c in items.columns[items.columns.duplicated()]})
        raise ValueError(f"{what}: duplicated column name(s) {', '.join(dup)}")
    frame = items.astype(float)
    values = frame.to_numpy()
    if np.isinf(values).any():
        raise ValueError(f"{what}: infinite values are not valid scores")
    if frame.shape[1] < min_items:
        raise ValueError(f"{what}: need at least {min_items} columns, got {frame.shape[1]}")
    empty = [str(c) for c in frame.columns[np.isnan(values).all(axis=0)]]
    if empty:
        raise ValueError(f"{what}: column(s) {', '.join(empty)} have no values")
    n_rows = int((~np.isnan(values)).any(axis=1).sum())
    if n_rows < min_rows:
        raise ValueError(f"{what}: need at least {min_rows} rows with data, got {n_rows}")
    return frame


def check_missing_mode(missing: str) -> None:
    """Raise ``ValueError`` unless ``missing`` is 'pairwise' or 'listwise'."""
    if missing not in MISSING_MODES:
        raise ValueError(f"missing must be 'pairwise' or 'listwise', got {missing!r}")


def apply_missing(
    frame: pd.DataFrame, missing: str, *, min_rows: int = 3, what: str = "items"
) -> pd.DataFrame:
    """Drop incomplete rows (listwise) or rows without any answer (pairwise)."""
    check_missing_mode(missing)
    values = frame.to_numpy()
    keep = ~np.isnan(values).any(axis=1) if missing == "listwise" else ~np.isnan(values).all(
        axis=1)
    out = frame.loc[keep] if not keep.all() else frame
    if len(out) < min_rows:
        raise ValueError(f"{what}: only {len(out)} {'complete ' if missing == 'listwise' else ''}"
                         f"row(s) left, need at least {min_rows}")
    return out


def check_not_constant(frame: pd.DataFrame, *, what: str = "items") -> None:
    """Raise ``ValueError`` naming the columns that do not vary."""
    values = frame.to_numpy()
    spread = np.nanmax(values, axis=0) - np.nanmin(values, axis=0)
    const = [str(c) for c, s in zip(frame.columns, spread, strict=True) if not s > 0]
    if const:
        raise ValueError(f"{what}: constant column(s) {', '.join(const)} (zero variance); "
                         "drop them before the analysis")


def _pairwise_sums(values: np.ndarray) -> tuple[np.ndarray, ...]:
    observed = ~np.isnan(values)
    # centre each column on its own mean first to keep the sums well conditioned
    centred = values - np.nanmean(values, axis=0)
    x = np.where(observed, centred, 0.0)
    m = observed.astype(float)
    n = m.T @ m
    sum_x = x.T @ m  # [i, j]: sum of x_i over rows where j is also observed
    sum_xx = (x * x).T @ m  # [i, j]: sum of x_i^2 over rows where j is also observed
    return n, sum_x, sum_xx, x.T @ x


def pairwise_covariance(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Covariance matrix (ddof=1) from pairwise-complete observations, and the pair counts.

    Like R's ``cov(x, use = "pairwise")``: each entry uses the rows where both items are
    observed (means of that subset). Vectorised with matrix products (no loop over rows
    or pairs); with no missing values it equals ``np.cov(values, rowvar=False)``.
    """
    if not np.isnan(values).any():
        n = np.full((values.shape[1],) * 2, values.shape[0], dtype=float)
        return np.atleast_2d(np.cov(values, rowvar=False)), n
    n, sum_x, _, sum_xy = _pairwise_sums(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (sum_xy - sum_x * sum_x.T / n) / (n - 1)
    cov[n < 2] = np.nan
    return cov, n


def pairwise_correlation(values: np.ndarray) -> np.ndarray:
    """Pearson correlations from pairwise-complete rows, as R's ``cor(x, use = "pairwise")``.

    Both the covariance and the two standard deviations of an entry use the same rows.
    """
    n, sum_x, sum_xx, sum_xy = _pairwise_sums(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        cross = sum_xy - sum_x * sum_x.T / n
        ss = sum_xx - sum_x**2 / n  # [i, j]: sum of squares of x_i on the pair's rows
        corr = cross / np.sqrt(ss * ss.T)
    corr[n < 2] = np.nan
    np.fill_diagonal(corr, 1.0)
    return corr


def covariance(frame: pd.DataFrame, missing: str) -> np.ndarray:
    """Covariance matrix of ``frame`` under the given missing-data mode."""
    values = frame.to_numpy()
    if missing == "listwise":
        values = values[~np.isnan(values).any(axis=1)]
        return np.atleast_2d(np.cov(values, rowvar=False))
    cov, _ = pairwise_covariance(values)
    if np.isnan(cov).any():
        raise ValueError("pairwise covariance undefined: some item pairs share fewer than 2 rows")
    return cov


def correlation(frame: pd.DataFrame, missing: str) -> np.ndarray:
    """Pearson correlation matrix under the given missing-data mode."""
    values = frame.to_numpy()
    if missing == "pairwise" and np.isnan(values).any():
        corr = pairwise_correlation(values)
        if np.isnan(corr).any():
            raise ValueError("pairwise correlation undefined: some item pairs share fewer "
                             "than 2 rows or do not vary on their shared rows")
        return corr
    cov = covariance(frame, missing)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return corr


def alpha_from_covariance(cov: np.ndarray) -> float:
    """Cronbach's alpha k/(k-1) * (1 - trace(C) / sum(C))."""
    k = cov.shape[0]
    return float(k / (k - 1) * (1.0 - np.trace(cov) / cov.sum()))


def _drop_one_statistics(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corrected item-total (item-rest) correlation and alpha if item deleted, per item."""
    k = cov.shape[0]
    diag = np.diag(cov)
    row = cov.sum(axis=1)
    rest_var = cov.sum() - 2.0 * row + diag
    with np.errstate(invalid="ignore", divide="ignore"):
        item_rest = (row - diag) / np.sqrt(diag * rest_var)
        if k >= 3:
            rest_trace = np.trace(cov) - diag
            drop_alpha = (k - 1) / (k - 2) * (1.0 - rest_trace / rest_var)
        else:
            drop_alpha = np.full(k, np.nan)
    return item_rest, drop_alpha


def _score_bounds(
    bound: float | Mapping[str, float] | None, frame: pd.DataFrame, observed: np.ndarray,
    name: str,
) -> np.ndarray:
    if bound is None:
        return observed
    if isinstance(bound, Mapping):
        by_name = {str(k): float(v) for k, v in bound.items()}
        unknown = sorted(set(by_name) - set(map(str, frame.columns)))
        if unknown:
            raise ValueError(f"{name}: unknown item(s) {', '.join(unknown)}")
        return np.array([by_name.get(str(c), o)
                         for c, o in zip(frame.columns, observed, strict=True)])
    return np.full(frame.shape[1], float(bound))


@dataclass(frozen=True)
class ItemAnalysis:
    """Per-item statistics (``table``, one row per item) plus scale alpha and n."""

    table: pd.DataFrame
    alpha: float
    n: int
    missing: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict: ``items`` is a list of per-item records."""
        return {
            "alpha": _clean(self.alpha),
            "n": self.n,
            "missing": self.missing,
            "items": _clean(self.table.reset_index().to_dict(orient="records")),
        }


def item_analysis(
    items: pd.DataFrame,
    *,
    missing: str = "pairwise",
    min_score: float | Mapping[str, float] | None = None,
    max_score: float | Mapping[str, float] | None = None,
) -> ItemAnalysis:
    """Classical item analysis of a scale (rows = respondents, columns = items).

    ``table`` (index = item) has: ``n``, ``missing_pct``, ``mean``, ``sd``, ``floor_pct`` and
    ``ceiling_pct`` (% of answers at ``min_score``/``max_score``: scalars or per-item
    mappings; default the observed minimum/maximum of each item), ``item_total_r`` (the
    corrected item-total, i.e. item-rest, correlation, as ``r.drop`` in ``psych::alpha``)
    and ``alpha_if_deleted`` (raw alpha of the other items; NaN with only 2 items).
    Items must already be keyed in the same direction.
    """
    frame = as_item_frame(items)
    check_missing_mode(missing)
    n_total = len(frame)
    frame = apply_missing(frame, missing)
    check_not_constant(frame)
    values = frame.to_numpy()
    observed = ~np.isnan(values)
    n_item = observed.sum(axis=0)
    lo = _score_bounds(min_score, frame, np.nanmin(values, axis=0), "min_score")
    hi = _score_bounds(max_score, frame, np.nanmax(values, axis=0), "max_score")
    if np.any(lo >= hi):
        raise ValueError("min_score must be below max_score for every item")
    tol = 1e-9 * np.maximum(1.0, hi - lo)
    floor = (values <= lo + tol).sum(axis=0) / n_item * 100.0
    ceiling = (values >= hi - tol).sum(axis=0) / n_item * 100.0
    cov = covariance(frame, missing)
    item_rest, drop_alpha = _drop_one_statistics(cov)
    table = pd.DataFrame(
        {
            "n": n_item.astype(int),
            "missing_pct": (1.0 - n_item / n_total) * 100.0,
            "mean": np.nanmean(values, axis=0),
            "sd": np.nanstd(values, axis=0, ddof=1),
            "floor_pct": floor,
            "ceiling_pct": ceiling,
            "item_total_r": item_rest,
            "alpha_if_deleted": drop_alpha,
        },
        index=pd.Index([str(c) for c in frame.columns], name="item"),
    )
    return ItemAnalysis(table=table, alpha=alpha_from_covariance(cov), n=len(frame),
                        missing=missing)
