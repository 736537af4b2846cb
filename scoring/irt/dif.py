"""IRT-based DIF as R's lordif does it (Choi, Gibbons & Crane 2011).

1. Calibrate the GRM on all respondents and score theta (EAP, N(0, 1) prior).
2. For every item fit three proportional-odds models with theta as the matching
   variable (item ~ theta; + group; + group x theta) and test uniform, non-uniform
   and total DIF by likelihood ratio -- the ordinal logistic regression of
   :mod:`scoring.psychometrics.dif` (reused as is), with theta instead of the sum score.
3. Purification: items flagged get group-specific parameters (each becomes one virtual
   item per group, answered only by that group), the others anchor the scale; theta is
   re-estimated and step 2 repeated until the set of flagged items no longer changes.

Flagging follows lordif's default ``criterion="chisqr"``: any of the three likelihood-
ratio tests with p < ``alpha`` (.01). ``criterion="r2"`` flags only when the McFadden
pseudo-R^2 change of the significant test also reaches ``r2_change`` (.02).

Known limitation (shared with lordif): when the groups differ in their mean trait level
(impact), the chi-square criterion also flags items without DIF in large samples --
the matching theta is an estimate, not the trait itself. With impact, use the
``r2`` criterion (an effect-size floor), as the lordif authors advise for large samples.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from scoring.irt.calibrate import fit
from scoring.psychometrics.dif import DIFResult, _item_dif

Criterion = Literal["chisqr", "r2"]


@dataclass(frozen=True)
class IRTDIFResult:
    """Final DIF table (as :class:`DIFResult`), iterations and the purified theta."""

    result: DIFResult
    iterations: int
    history: tuple[tuple[str, ...], ...]
    theta: pd.Series
    converged: bool

    @property
    def flagged(self) -> list[str]:
        """Items flagged at the last iteration."""
        return self.result.flagged

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        data = self.result.to_dict()
        data.update(
            iterations=self.iterations,
            converged=self.converged,
            history=[list(h) for h in self.history],
        )
        return data


def _split_flagged(
    data: pd.DataFrame, group: np.ndarray, flagged: list[str], levels: tuple
) -> pd.DataFrame:
    """Each flagged item becomes one column per group, answered only in that group."""
    out = data.drop(columns=flagged).copy()
    for item in flagged:
        for level in levels:
            out[f"{item}@{level}"] = data[item].where(group == level)
    return out


def irt_dif(
    data: pd.DataFrame,
    group: pd.Series | np.ndarray,
    *,
    model: Literal["grm", "gpcm"] = "grm",
    criterion: Criterion = "chisqr",
    alpha: float = 0.01,
    r2_change: float = 0.02,
    max_iter: int = 10,
) -> IRTDIFResult:
    """lordif-style DIF of every item (column of ``data``) between the ``group`` levels.

    Rows with a missing group are dropped; missing answers are allowed in the
    calibration, but each item's regression uses the rows that answered it.
    """
    if criterion not in ("chisqr", "r2"):
        raise ValueError(f"criterion must be 'chisqr' or 'r2' (got {criterion!r})")
    group = pd.Series(np.asarray(group), index=data.index)
    keep = group.notna().to_numpy()
    data, group = data.loc[keep], group.loc[keep]
    g = group.to_numpy()
    levels = tuple(pd.unique(g))
    with contextlib.suppress(TypeError):
        levels = tuple(sorted(levels))
    if len(levels) < 2:
        raise ValueError("DIF needs at least two groups")
    if data.shape[1] < 3:
        raise ValueError("IRT DIF needs at least three items")
    g_idx = np.zeros(g.size, dtype=np.int64)
    for k, level in enumerate(levels):
        g_idx[g == level] = k
    values = data.apply(pd.to_numeric, errors="coerce")
    flagged: list[str] = []
    history: list[tuple[str, ...]] = []
    converged = False
    table = pd.DataFrame()
    theta = np.zeros(len(data))
    for _ in range(max_iter):
        frame = _split_flagged(values, g, flagged, levels) if flagged else values
        calibration = fit(frame, model, se=False)
        theta = calibration.theta(frame)["theta"].to_numpy()
        rows = []
        for item in data.columns:
            y = values[item].to_numpy()
            answered = ~np.isnan(y) & ~np.isnan(theta)
            stats = _item_dif(y[answered], theta[answered], g_idx[answered], len(levels))
            rows.append({"item": str(item), **stats})
        table = pd.DataFrame(rows)
        table["uniform_dif"] = table["p_uniform"] < alpha
        table["nonuniform_dif"] = table["p_nonuniform"] < alpha
        total = table["p_total"] < alpha
        if criterion == "r2":
            table["uniform_dif"] &= table["r2_mcfadden_uniform"] >= r2_change
            table["nonuniform_dif"] &= table["r2_mcfadden_nonuniform"] >= r2_change
            total &= table["r2_mcfadden_total"] >= r2_change
        table["flagged"] = table["uniform_dif"] | table["nonuniform_dif"] | total
        new = sorted(table.loc[table["flagged"], "item"])
        history.append(tuple(new))
        if new == flagged:
            converged = True
            break
        flagged = new
    rule = (
        f"lordif: any likelihood-ratio test (2 vs 1, 3 vs 2, 3 vs 1) with p < {alpha:g}"
        if criterion == "chisqr"
        else f"p < {alpha:g} and McFadden pseudo-R2 change >= {r2_change:g}"
    )
    result = DIFResult(
        table=table,
        group_levels=levels,
        matching=f"IRT theta ({model.upper()} EAP, purified; {rule})",
        alpha=alpha,
        r2_change=r2_change if criterion == "r2" else 0.0,
        pseudo_r2="mcfadden",
        n=len(data),
    )
    return IRTDIFResult(
        result=result,
        iterations=len(history),
        history=tuple(history),
        theta=pd.Series(theta, index=data.index, name="theta"),
        converged=converged,
    )
