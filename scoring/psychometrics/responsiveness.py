"""Responsiveness: distribution-based indices and anchor-based minimal important change.

* Effect size ES = mean change / SD at baseline (Kazis, Anderson & Meenan 1989).
* Standardized response mean SRM = mean change / SD of change (Liang et al. 1990).
  Both get percentile-bootstrap CIs (paired resampling of respondents, fixed seed).
* With an external anchor (e.g. a global rating of change):
  - anchor-based MIC = mean change in the *improved* group (t CI), and its difference to
    the mean change in the *unchanged* group (Welch CI) (de Vet et al. 2006; Jaeschke 1989);
  - ROC-based MIC: the change cut-off that best separates improved from unchanged
    respondents, maximising Youden's J = sensitivity + specificity - 1 (ties: the point
    closest to the upper-left corner; then the smaller cut-off), with the AUC and its
    DeLong CI (de Vet et al. 2006; DeLong et al. 1988).

Change is ``followup - baseline``; with ``higher_is_better=False`` improvement is a
negative change and the ROC analysis works on ``-(change)`` (cut-offs are reported in
the score's own change units).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from scoring.psychometrics.results import Estimate, _clean


@dataclass(frozen=True)
class ROCMIC:
    """ROC-based minimal important change."""

    cutoff: float
    sensitivity: float
    specificity: float
    youden: float
    auc: Estimate
    rule: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(
            {
                "cutoff": self.cutoff,
                "sensitivity": self.sensitivity,
                "specificity": self.specificity,
                "youden": self.youden,
                "auc": self.auc.to_dict(),
                "rule": self.rule,
            }
        )


@dataclass(frozen=True)
class ResponsivenessResult:
    """Responsiveness indices; anchor-based entries are None without an anchor."""

    n: int
    mean_change: Estimate
    effect_size: Estimate
    srm: Estimate
    mic_mean_change: Estimate | None = None
    mic_difference: Estimate | None = None
    guyatt: Estimate | None = None
    roc: ROCMIC | None = None
    groups: dict[str, Any] = field(default_factory=dict)
    mic_half_sd: Estimate | None = None
    mic_sem: Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        out: dict[str, Any] = {"n": self.n}
        for name in (
            "mean_change",
            "effect_size",
            "srm",
            "mic_mean_change",
            "mic_difference",
            "guyatt",
            "roc",
            "mic_half_sd",
            "mic_sem",
        ):
            value = getattr(self, name)
            out[name] = None if value is None else value.to_dict()
        out["groups"] = _clean(self.groups)
        return out


def _as_array(values: Any, name: str) -> np.ndarray:
    arr = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").to_numpy(np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    return arr


def _t_mean(x: np.ndarray, ci: float, method: str) -> Estimate:
    n = x.size
    if n < 2:
        return Estimate(float(x.mean()) if n else float("nan"), n, method=method)
    m, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(n))
    half = stats.t.ppf(0.5 + ci / 2, n - 1) * se
    return Estimate(m, n, m - half, m + half, ci, method=method)


def _welch_difference(a: np.ndarray, b: np.ndarray, ci: float) -> Estimate:
    """Mean of a minus mean of b with a Welch t CI."""
    method = "difference in mean change, improved - unchanged (Welch)"
    if a.size < 2 or b.size < 2:
        return Estimate(float("nan"), a.size + b.size, method=method)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff, se = float(a.mean() - b.mean()), math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = stats.t.ppf(0.5 + ci / 2, dof) * se
    return Estimate(diff, a.size + b.size, diff - half, diff + half, ci, method=method)


def _bootstrap(
    base: np.ndarray, change: np.ndarray, n_boot: int, seed: int, ci: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile bootstrap CIs of ES and SRM (paired resampling)."""
    rng = np.random.default_rng(seed)
    n = base.size
    chunk = max(1, int(2e7 // n))
    es, srm = [], []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        b, c = base[idx], change[idx]
        mc = c.mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            es.append(mc / b.std(axis=1, ddof=1))
            srm.append(mc / c.std(axis=1, ddof=1))
    q = [50 * (1 - ci), 50 * (1 + ci)]
    es_ci = np.nanpercentile(np.concatenate(es), q)
    srm_ci = np.nanpercentile(np.concatenate(srm), q)
    return (float(es_ci[0]), float(es_ci[1])), (float(srm_ci[0]), float(srm_ci[1]))


def auc_delong(positives: np.ndarray, negatives: np.ndarray, ci: float = 0.95) -> Estimate:
    """AUC (P(pos > neg) + 0.5 P(tie)) with the DeLong et al. (1988) CI (as R pROC)."""
    m, n = positives.size, negatives.size
    neg = np.sort(negatives)
    pos = np.sort(positives)
    # placement values: share of the other sample below (ties count one half)
    below = np.searchsorted(neg, positives, "left") + np.searchsorted(neg, positives, "right")
    v10 = below / (2.0 * n)
    not_above = np.searchsorted(pos, negatives, "right") + np.searchsorted(pos, negatives, "left")
    above = 2 * m - not_above
    v01 = above / (2.0 * m)
    auc = float(v10.mean())
    if m < 2 or n < 2:
        return Estimate(auc, m + n, method="AUC")
    se = math.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    z = stats.norm.ppf(0.5 + ci / 2)
    return Estimate(auc, m + n, auc - z * se, auc + z * se, ci, method="AUC (DeLong CI)")


def roc_mic(improved: np.ndarray, unchanged: np.ndarray, ci: float = 0.95) -> ROCMIC:
    """Youden-optimal cut-off on improvement scores: 'improved' when value >= cut-off."""
    cuts = np.unique(np.concatenate([improved, unchanged]))
    imp, unc = np.sort(improved), np.sort(unchanged)
    sens = 1.0 - np.searchsorted(imp, cuts, "left") / imp.size
    spec = np.searchsorted(unc, cuts, "left") / unc.size
    youden = sens + spec - 1.0
    best = np.flatnonzero(np.isclose(youden, youden.max(), rtol=0, atol=1e-12))
    dist = (1 - sens[best]) ** 2 + (1 - spec[best]) ** 2
    k = best[np.argmin(dist)]
    return ROCMIC(
        cutoff=float(cuts[k]),
        sensitivity=float(sens[k]),
        specificity=float(spec[k]),
        youden=float(youden[k]),
        auc=auc_delong(improved, unchanged, ci),
        rule="improved when improvement >= cutoff (Youden-optimal)",
    )


def responsiveness(
    baseline: Any,
    followup: Any,
    anchor: Any = None,
    *,
    improved: Iterable[Any] | None = None,
    unchanged: Iterable[Any] | None = None,
    higher_is_better: bool = True,
    ci: float = 0.95,
    n_boot: int = 2000,
    seed: int = 20061,
    reliability: float | None = None,
) -> ResponsivenessResult:
    """Responsiveness of a score between two time points (paired rows).

    ``anchor`` (optional, one value per row) with ``improved`` (anchor values meaning
    "improved") and ``unchanged`` (values meaning "unchanged") adds the anchor-based MIC,
    Guyatt's responsiveness statistic and the ROC-based MIC. Rows missing baseline or
    follow-up are dropped. CIs of ES and SRM: percentile bootstrap, ``n_boot`` resamples,
    ``seed`` fixed for reproducibility.

    Distribution-based MIC, reported next to the anchor-based one: ``mic_half_sd`` = 0.5 x
    SD at baseline (Norman, Sloan & Wyrwich 2003) always, ``mic_sem`` = 1 SEM = SD at
    baseline x sqrt(1 - ``reliability``) (Wyrwich et al. 1999) when a reliability (e.g.
    the test-retest ICC) is given.
    """
    if reliability is not None and not 0 <= reliability <= 1:
        raise ValueError(f"reliability must be between 0 and 1, got {reliability!r}")
    base = _as_array(baseline, "baseline")
    follow = _as_array(followup, "followup")
    if base.size != follow.size:
        raise ValueError(f"baseline has {base.size} rows, followup has {follow.size}")
    ok = ~np.isnan(base) & ~np.isnan(follow)
    if ok.sum() < 3:
        raise ValueError("responsiveness needs at least 3 complete pairs")
    change = follow[ok] - base[ok]
    b = base[ok]
    n = int(ok.sum())
    sd_base, sd_change = float(b.std(ddof=1)), float(change.std(ddof=1))
    mean_change = float(change.mean())
    es_ci, srm_ci = _bootstrap(b, change, n_boot, seed, ci)
    boot = f"percentile bootstrap, {n_boot} resamples, seed {seed}"
    result: dict[str, Any] = {
        "n": n,
        "mean_change": _t_mean(change, ci, "mean change (t CI)"),
        "effect_size": Estimate(
            mean_change / sd_base if sd_base > 0 else float("nan"),
            n,
            *es_ci,
            ci,
            method=f"mean change / SD baseline; {boot}",
        ),
        "srm": Estimate(
            mean_change / sd_change if sd_change > 0 else float("nan"),
            n,
            *srm_ci,
            ci,
            method=f"mean change / SD change; {boot}",
        ),
    }
    result["mic_half_sd"] = Estimate(
        0.5 * sd_base, n, method="distribution-based MIC: 0.5 SD at baseline (Norman 2003)"
    )
    if reliability is not None:
        result["mic_sem"] = Estimate(
            sd_base * float(np.sqrt(1.0 - reliability)),
            n,
            method="distribution-based MIC: 1 SEM = SD baseline x sqrt(1 - reliability)",
            extra={"reliability": float(reliability)},
        )
    if anchor is not None:
        if improved is None or unchanged is None:
            raise ValueError("with an anchor, name the anchor values of improved and unchanged")
        anc = pd.Series(np.asarray(anchor, dtype=object))
        if len(anc) != base.size:
            raise ValueError(f"anchor has {len(anc)} rows, baseline has {base.size}")
        anc = anc[ok].to_numpy()
        imp_set, unc_set = set(improved), set(unchanged)
        if imp_set & unc_set:
            raise ValueError("an anchor value cannot mean both improved and unchanged")
        is_imp = np.array([a in imp_set for a in anc])
        is_unc = np.array([a in unc_set for a in anc])
        if not is_imp.any() or not is_unc.any():
            raise ValueError("the anchor has no improved or no unchanged respondents")
        sign = 1.0 if higher_is_better else -1.0
        c_imp, c_unc = change[is_imp], change[is_unc]
        result["mic_mean_change"] = _t_mean(c_imp, ci, "mean change in the improved group")
        result["mic_difference"] = _welch_difference(c_imp, c_unc, ci)
        sd_unc = float(c_unc.std(ddof=1)) if c_unc.size > 1 else float("nan")
        result["guyatt"] = Estimate(
            float(c_imp.mean() / sd_unc) if sd_unc and sd_unc > 0 else float("nan"),
            int(c_imp.size + c_unc.size),
            method="Guyatt: mean change improved / SD change unchanged",
        )
        roc = roc_mic(sign * c_imp, sign * c_unc, ci)
        result["roc"] = ROCMIC(
            cutoff=sign * roc.cutoff,
            sensitivity=roc.sensitivity,
            specificity=roc.specificity,
            youden=roc.youden,
            auc=roc.auc,
            rule=(
                "improved when change >= cutoff (Youden-optimal)"
                if higher_is_better
                else "improved when change <= cutoff (Youden-optimal)"
            ),
        )
        result["groups"] = {
            "improved": {"n": int(c_imp.size), "anchor_values": sorted(map(str, imp_set))},
            "unchanged": {"n": int(c_unc.size), "anchor_values": sorted(map(str, unc_set))},
            "other": int((~is_imp & ~is_unc).sum()),
        }
    return ResponsivenessResult(**result)
