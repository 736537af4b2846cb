"""Model checks for a calibrated item set: S-X2 item fit, Yen's Q3, information curves.

* S-X2 (Orlando & Thissen 2000; polytomous items: Kang & Chen 2008): observed vs
  model-expected category proportions within summed-score groups; the expected
  proportions come from the Lord-Wingersky (1984) recursion. Complete answer patterns
  only. Sparse cells (expected count < ``mincell``) are merged into the neighbouring
  score group of the same category, from both ends, as mirt's ``itemfit`` does;
  df = cells - score groups - free parameters of the item.
* Q3 (Yen 1984): correlations of the residuals ``x - E(x | theta_EAP)`` between item
  pairs; Q3* = Q3 minus the mean off-diagonal Q3 (Christensen, Makransky & Horton 2017).
* Test information ``I(theta) = sum_i I_i(theta)`` and ``SE(theta) = 1 / sqrt(I(theta))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from scoring.irt.calibrate import IRTFit
from scoring.irt.models import ItemSet
from scoring.irt.svg import line_chart
from scoring.irt.theta import eap


def lord_wingersky(probs: np.ndarray) -> np.ndarray:
    """Summed-score likelihoods f(s | theta), (S+1, Q), from category probabilities.

    ``probs``: (I, K, Q) with zeros for categories an item does not have.
    """
    n_items, width, n_nodes = probs.shape
    f = np.ones((1, n_nodes))
    for i in range(n_items):
        k_i = int(np.max(np.nonzero(probs[i].sum(axis=1) > 0)[0])) + 1
        out = np.zeros((f.shape[0] + k_i - 1, n_nodes))
        for k in range(k_i):
            out[k : k + f.shape[0]] += f * probs[i, k]
        f = out
    return f


def _item_free_params(fit: IRTFit, i: int) -> int:
    k = int(fit.items.n_categories[i]) - 1
    return k if fit.model == "rasch" else k + 1


def _collapse(
    observed: np.ndarray, expected: np.ndarray, mincell: float
) -> tuple[np.ndarray, np.ndarray]:
    """Merge sparse cells of each category column into the neighbouring score group."""
    o, e = observed.astype(float).copy(), expected.astype(float).copy()
    rows, cols = e.shape
    for k in range(cols):
        for order in (range(rows - 1), range(rows - 1, 0, -1)):
            for r in order:
                nxt = r + 1 if order.step == 1 else r - 1
                if np.isnan(e[r, k]):
                    continue
                if e[r, k] < mincell and not np.isnan(e[nxt, k]):
                    e[nxt, k] += e[r, k]
                    o[nxt, k] += o[r, k]
                    e[r, k] = o[r, k] = np.nan
    return o, e


def sx2(fit: IRTFit, data: pd.DataFrame | np.ndarray, mincell: float = 1.0) -> pd.DataFrame:
    """S-X2 item fit: one row per item with ``S_X2``, ``df``, ``p``, ``n`` (complete rows)."""
    index, _ = fit.response_index(data)
    index = index[(index >= 0).all(axis=1)]
    if index.shape[0] == 0:
        raise ValueError("S-X2 needs complete answer patterns; none found")
    items = fit.items
    probs = items.probs(fit.nodes)
    w = fit.weights
    f_all = lord_wingersky(probs)
    denom = f_all @ w  # P(S = s)
    scores = index.sum(axis=1)
    top = f_all.shape[0] - 1
    groups = np.arange(1, top)  # extreme scores determine every answer
    n_s = np.array([np.sum(scores == s) for s in groups], dtype=float)
    rows = []
    for i in range(items.n_items):
        others = np.delete(np.arange(items.n_items), i)
        f_rest = lord_wingersky(probs[others])
        k_i = int(items.n_categories[i])
        expected = np.zeros((groups.size, k_i))
        observed = np.zeros((groups.size, k_i))
        for g, s in enumerate(groups):
            for k in range(k_i):
                if 0 <= s - k < f_rest.shape[0]:
                    expected[g, k] = (probs[i, k] * f_rest[s - k]) @ w / denom[s]
                observed[g, k] = np.sum((scores == s) & (index[:, i] == k))
        expected_counts = expected * n_s[:, None]
        keep = n_s > 0
        o, e = _collapse(observed[keep], expected_counts[keep], mincell)
        cells = ~np.isnan(e) & (e > 0)
        chi2 = float(np.sum((o[cells] - e[cells]) ** 2 / e[cells]))
        n_groups = int(np.sum(cells.any(axis=1)))
        df = int(cells.sum()) - n_groups - _item_free_params(fit, i)
        p = float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan")
        rows.append(
            {"item": fit.item_ids[i], "S_X2": chi2, "df": df, "p": p, "n": int(index.shape[0])}
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Q3Result:
    """Residual correlations (``matrix``), Q3* and the largest pairs."""

    matrix: pd.DataFrame
    q3_star: pd.DataFrame
    mean_offdiagonal: float

    def pairs(self, threshold: float = 0.2) -> pd.DataFrame:
        """Item pairs whose Q3* exceeds ``threshold`` (largest first)."""
        ids = list(self.matrix.index)
        out = [
            {
                "item1": ids[i],
                "item2": ids[j],
                "Q3": self.matrix.iat[i, j],
                "Q3_star": self.q3_star.iat[i, j],
            }
            for i in range(len(ids))
            for j in range(i + 1, len(ids))
            if self.q3_star.iat[i, j] > threshold
        ]
        frame = pd.DataFrame(out, columns=["item1", "item2", "Q3", "Q3_star"])
        return frame.sort_values("Q3_star", ascending=False, ignore_index=True)


def q3(fit: IRTFit, data: pd.DataFrame | np.ndarray) -> Q3Result:
    """Yen's Q3 from EAP residuals (pairwise complete answers)."""
    index, _ = fit.response_index(data)
    theta, _ = eap(fit.items, index, fit.nodes, fit.weights)
    expected = fit.items.expected_score(theta).T  # (n, I)
    resid = np.where(index >= 0, index - expected, np.nan)
    matrix = pd.DataFrame(resid, columns=list(fit.item_ids)).corr()
    values = matrix.to_numpy()
    off = values[~np.eye(values.shape[0], dtype=bool)]
    mean_off = float(np.nanmean(off))
    star_values = values - mean_off
    np.fill_diagonal(star_values, np.nan)
    star = pd.DataFrame(star_values, index=matrix.index, columns=matrix.columns)
    return Q3Result(matrix, star, mean_off)


def total_information(items: ItemSet, theta: np.ndarray) -> np.ndarray:
    """Test information at each theta."""
    return items.information(np.asarray(theta, dtype=float)).sum(axis=0)


def information_svg(items: ItemSet, lo: float = -4.0, hi: float = 4.0) -> str:
    """Inline SVG of the test information and SE(theta) = 1/sqrt(I) curves."""
    grid = np.linspace(lo, hi, 161)
    info = total_information(items, grid)
    se = 1.0 / np.sqrt(np.maximum(info, 1e-12))
    return line_chart(
        grid,
        {"information": info, "SE x 10": np.minimum(se * 10, info.max())},
        "Test information and standard error",
        "theta",
        "information (SE x 10)",
    )


def unidimensionality_note(data: pd.DataFrame | np.ndarray) -> dict[str, float | str]:
    """First/second eigenvalue of the inter-item (Pearson) correlations and a note.

    A screening number only (ratio > 4 is a common rule of thumb, Reeve et al. 2007 for
    PROMIS); an ordinal CFA (scoring.psychometrics) is the proper check.
    """
    frame = pd.DataFrame(data).apply(pd.to_numeric, errors="coerce")
    eig = np.sort(np.linalg.eigvalsh(frame.corr().to_numpy()))[::-1]
    ratio = float(eig[0] / eig[1]) if eig.size > 1 and eig[1] > 0 else float("inf")
    share = float(eig[0] / eig.sum())
    verdict = "supports" if ratio > 4 else "does not clearly support"
    return {
        "first_eigenvalue": float(eig[0]),
        "second_eigenvalue": float(eig[1]) if eig.size > 1 else float("nan"),
        "ratio": ratio,
        "first_share": share,
        "note": (
            f"first/second eigenvalue ratio {ratio:.1f} {verdict} one dominant dimension "
            "(screening rule ratio > 4); confirm with the ordinal CFA of the psychometric report"
        ),
    }
