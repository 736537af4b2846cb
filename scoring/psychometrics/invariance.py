"""Measurement invariance across groups: multi-group ML CFA with a mean structure.

(Ordinal items: ``estimator="WLSMV"``, multi-group WLSMV in ``invariance_wlsmv.py``.)

Four nested models as lavaan ``cfa(model, data, group = ..., std.lv = TRUE, group.equal =
...)`` (Meredith 1993; Vandenberg & Lance 2000):

* ``configural``: same pattern in every group; everything free per group (factor
  variances 1, factor means 0 in every group);
* ``metric``: loadings equal across groups; factor variances free in groups 2..G;
* ``scalar``: + intercepts equal; factor means free in groups 2..G;
* ``strict``: + residual variances equal.

Estimation minimises ``sum_g N_g F_g`` with ``F_g = log|Sigma_g| + tr(S_g Sigma_g^-1) -
log|S_g| - p + (m_g - mu_g)' Sigma_g^-1 (m_g - mu_g)`` (``S_g`` with divisor N_g), so
``chi2 = sum_g N_g F_g`` as lavaan's default ``likelihood = "normal"``. Baseline: the
independence model per group (means and variances free). RMSEA as lavaan for G groups:
``sqrt(max(chi2 / (N df) - 1 / N, 0)) * sqrt(G)``. Model comparisons: chi-square
difference (lavaan ``lavTestLRT`` for ML), ΔCFI and ΔRMSEA with Chen's (2007) cut-offs
(ΔCFI > -0.010 and ΔRMSEA < 0.015 keep invariance) reported, not enforced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from scoring.psychometrics.cfa import _Model, _rmsea_ci, _validate_model, cfa
from scoring.psychometrics.invariance_wlsmv import WLSMV_LEVELS
from scoring.psychometrics.results import _clean
from scoring.psychometrics.threads import single_thread_blas

LEVELS = ("configural", "metric", "scalar", "strict")


@dataclass(frozen=True)
class InvarianceResult:
    """Fit of the nested invariance models and their comparisons."""

    table: pd.DataFrame
    groups: dict[str, int]
    estimator: str = "ML"
    notes: tuple[str, ...] = field(default_factory=tuple)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(
            {
                "estimator": self.estimator,
                "groups": self.groups,
                "models": self.table.reset_index().to_dict(orient="records"),
                "notes": list(self.notes),
            }
        )


class _MultiGroup:
    """Parameter layout with equality constraints across groups, objective and gradient."""

    def __init__(
        self,
        covs: list[np.ndarray],
        means: list[np.ndarray],
        ns: list[int],
        pattern: np.ndarray,
        level: str,
    ):
        self.covs, self.means, self.ns = covs, means, np.asarray(ns, float)
        self.g = len(covs)
        self.p, self.m = pattern.shape
        rank = LEVELS.index(level)
        equal_load, equal_int, equal_res = rank >= 1, rank >= 2, rank >= 3
        self.logdet_s = [np.linalg.slogdet(s)[1] for s in covs]
        n_par = 0

        def new(count: int) -> np.ndarray:
            nonlocal n_par
            idx = np.arange(n_par, n_par + count)
            n_par += count
            return idx

        load_pos = np.nonzero(pattern)
        n_load = len(load_pos[0])
        tri = np.tril_indices(self.m)
        off = np.tril_indices(self.m, -1)
        self.load_pos, self.tri = load_pos, tri
        self.idx: list[dict[str, np.ndarray]] = []
        shared_load = new(n_load) if equal_load else None
        shared_int = new(self.p) if equal_int else None
        shared_res = new(self.p) if equal_res else None
        for k in range(self.g):
            d: dict[str, np.ndarray] = {}
            d["load"] = shared_load if shared_load is not None else new(n_load)
            d["int"] = shared_int if shared_int is not None else new(self.p)
            d["res"] = shared_res if shared_res is not None else new(self.p)
            # factor (co)variances: lower triangle; -1 = fixed (variance 1 or mean 0)
            phi = np.full(len(tri[0]), -1)
            diag = tri[0] == tri[1]
            phi[~diag] = new(int((~diag).sum()))
            if equal_load and k > 0:
                phi[diag] = new(int(diag.sum()))
            d["phi"] = phi
            d["mean"] = new(self.m) if (equal_int and k > 0) else np.full(self.m, -1)
            self.idx.append(d)
        del off
        self.n_par = n_par
        self.n_total = float(self.ns.sum())

    def unpack(self, x: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
        d = self.idx[k]
        lam = np.zeros((self.p, self.m))
        lam[self.load_pos] = x[d["load"]]
        vals = np.where(d["phi"] >= 0, x[np.maximum(d["phi"], 0)], 0.0)
        vals = np.where((d["phi"] < 0) & (self.tri[0] == self.tri[1]), 1.0, vals)
        phi = np.zeros((self.m, self.m))
        phi[self.tri] = vals
        phi = phi + np.tril(phi, -1).T
        nu = x[d["int"]]
        theta = x[d["res"]]
        alpha = np.where(d["mean"] >= 0, x[np.maximum(d["mean"], 0)], 0.0)
        return lam, phi, nu, theta, alpha

    def fun_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        total = 0.0
        grad = np.zeros_like(x)
        for k in range(self.g):
            lam, phi, nu, theta, alpha = self.unpack(x, k)
            sigma = lam @ phi @ lam.T + np.diag(theta)
            try:
                chol = np.linalg.cholesky(sigma)
            except np.linalg.LinAlgError:
                return 1e10, np.zeros_like(x)
            inv = np.linalg.inv(sigma)
            mu = nu + lam @ alpha
            dev = self.means[k] - mu
            s = self.covs[k]
            logdet = 2.0 * np.log(np.diag(chol)).sum()
            f = logdet + float(np.sum(inv * s)) - self.logdet_s[k] - self.p + dev @ inv @ dev
            w = inv - inv @ (s + np.outer(dev, dev)) @ inv
            g_mu = -2.0 * inv @ dev
            weight = self.ns[k] / self.n_total
            total += weight * f
            d = self.idx[k]
            g_lam = 2.0 * w @ lam @ phi + np.outer(g_mu, alpha)
            np.add.at(grad, d["load"], weight * g_lam[self.load_pos])
            g_phi = lam.T @ w @ lam
            g_tri = np.where(self.tri[0] == self.tri[1], 1.0, 2.0) * g_phi[self.tri]
            free = d["phi"] >= 0
            np.add.at(grad, d["phi"][free], weight * g_tri[free])
            np.add.at(grad, d["int"], weight * g_mu)
            np.add.at(grad, d["res"], weight * np.diag(w))
            fm = d["mean"] >= 0
            np.add.at(grad, d["mean"][fm], weight * (lam.T @ g_mu)[fm])
        return total, grad

    def start(self, lam: np.ndarray, phi: np.ndarray, theta: np.ndarray) -> np.ndarray:
        x = np.zeros(self.n_par)
        for k in range(self.g):
            d = self.idx[k]
            x[d["load"]] = lam[self.load_pos]
            x[d["int"]] = self.means[k]
            x[d["res"]] = np.maximum(theta, 0.05 * np.diag(self.covs[k]))
            free = d["phi"] >= 0
            x[d["phi"][free]] = phi[self.tri][free]
        return x


def _fit_level(mg: _MultiGroup, x0: np.ndarray) -> tuple[np.ndarray, float, bool, str]:
    with single_thread_blas():
        res = optimize.minimize(
            mg.fun_grad,
            x0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 30},
        )
    converged = bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-5
    return res.x, float(res.fun), converged, str(res.message)


def _numeric_items(frame: pd.DataFrame, items: list[str]) -> pd.DataFrame:
    bad = [c for c in items if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise ValueError(f"non-numeric item columns (recode to numbers first): {', '.join(bad)}")
    values = frame[items].to_numpy(float)
    if np.isinf(values).any():
        raise ValueError("infinite values in the item columns")
    return frame


def invariance(
    data: pd.DataFrame,
    model: Mapping[str, Sequence[str]],
    group: str,
    *,
    levels: Sequence[str] | None = None,
    estimator: str = "ML",
    min_group_size: int | None = None,
) -> InvarianceResult:
    """Configural, metric, scalar (and strict) invariance of a CFA model across ``group``.

    ``data`` holds the items and the ``group`` column; rows with a missing item or group
    are dropped (listwise, as lavaan). ``estimator="ML"``: multi-group ML with a mean
    structure as lavaan ``cfa(..., group = group, std.lv = TRUE, group.equal = ...)``,
    levels configural/metric/scalar/strict. ``estimator="WLSMV"`` (ordinal items): lavaan
    ``cfa(..., ordered = TRUE, group = group, std.lv = TRUE, group.equal = c("loadings",
    "thresholds"))``, levels configural/metric/scalar (see ``invariance_wlsmv``).
    Returns an :class:`InvarianceResult` whose ``table`` (index = level) has chi2, df, p,
    CFI, TLI, RMSEA (90 % CI) and, against the previous level, Δchi2, Δdf, p(Δchi2),
    ΔCFI, ΔRMSEA; with WLSMV also the scaled-shifted chi2 and scaled indices, Δchi2 is
    lavaan's scaled difference test (``lavTestLRT``, method ``"satorra.2000"``) and
    ΔCFI/ΔRMSEA are differences of the scaled indices.
    """
    est = str(estimator).upper()
    if est not in ("ML", "WLSMV"):
        raise ValueError(f"estimator must be 'ML' or 'WLSMV', got {estimator!r}")
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if group not in data.columns:
        raise ValueError(f"group column {group!r} is not in the data")
    allowed = LEVELS if est == "ML" else WLSMV_LEVELS
    levels = list(allowed) if levels is None else list(levels)
    unknown = [lv for lv in levels if lv not in allowed]
    if unknown or not levels:
        extra = (
            " (strict invariance is not defined for WLSMV: residual variances are not "
            "parameters in the delta parameterization)"
            if est == "WLSMV" and "strict" in unknown
            else ""
        )
        raise ValueError(f"levels must be among {allowed}, got {levels!r}{extra}")
    levels = [lv for lv in allowed if lv in levels]
    factors, items, pattern = _validate_model(data, model)
    _numeric_items(data, items)
    frame = data[items + [group]].dropna()
    p = len(items)
    min_n = min_group_size if min_group_size is not None else p + 1
    sizes = frame[group].value_counts()
    small = sizes[sizes < min_n]
    notes: list[str] = []
    if len(small):
        notes.append(
            "groups left out (fewer than "
            f"{min_n} complete rows): " + ", ".join(f"{k} ({v})" for k, v in small.items())
        )
        frame = frame[~frame[group].isin(small.index)]
    labels = list(pd.unique(frame[group]))  # lavaan's order: first appearance in the data
    if len(labels) < 2:
        raise ValueError(f"invariance needs at least 2 groups with >= {min_n} complete rows")
    if est == "WLSMV":
        return _invariance_wlsmv(frame, factors, items, pattern, group, labels, levels, notes)
    covs, means, ns = [], [], []
    for lab in labels:
        x = frame.loc[frame[group] == lab, items].to_numpy(float)
        covs.append(np.cov(x, rowvar=False, ddof=0))
        means.append(x.mean(axis=0))
        ns.append(len(x))
        if np.linalg.slogdet(covs[-1])[0] <= 0:
            raise ValueError(f"the covariance matrix of group {lab!r} is singular")
    pooled = cfa(frame, model)
    lam0 = np.zeros((p, len(factors)))
    for _, row in pooled.loadings.iterrows():
        lam0[items.index(row["item"]), factors.index(row["factor"])] = row["estimate"]
    phi0 = pooled.factor_correlations.to_numpy()
    theta0 = pooled.residual_variances["estimate"].to_numpy()
    n_total = float(sum(ns))
    g = len(labels)
    # baseline: independence model per group (means and variances free)
    base_chi2 = float(
        sum(
            n * (np.sum(np.log(np.diag(s))) - np.linalg.slogdet(s)[1])
            for n, s in zip(ns, covs, strict=True)
        )
    )
    base_df = g * p * (p - 1) // 2
    moments = g * (p * (p + 1) // 2 + p)
    rows, params = [], {}
    prev = None
    for level in levels:
        mg = _MultiGroup(covs, means, ns, pattern, level)
        x, fmin, converged, message = _fit_level(mg, mg.start(lam0, phi0, theta0))
        chi2 = n_total * fmin
        df = moments - mg.n_par
        pval = float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan
        d_model = max(chi2 - df, 0.0)
        denom = max(d_model, base_chi2 - base_df, 0.0)
        cfi = 1.0 if denom == 0 else 1.0 - d_model / denom
        tli = ((base_chi2 / base_df) - (chi2 / df)) / ((base_chi2 / base_df) - 1.0)
        rmsea = float(np.sqrt(max(chi2 / n_total / df - 1.0 / n_total, 0.0)) * np.sqrt(g))
        lo, hi = _rmsea_ci(chi2, df, int(n_total))
        row: dict[str, Any] = {
            "level": level,
            "chi2": chi2,
            "df": int(df),
            "p": pval,
            "cfi": float(cfi),
            "tli": float(tli),
            "rmsea": rmsea,
            "rmsea_ci_low": lo * np.sqrt(g),
            "rmsea_ci_high": hi * np.sqrt(g),
            "converged": converged,
        }
        if prev is not None:
            d_chi2 = chi2 - prev["chi2"]
            d_df = int(df - prev["df"])
            row["delta_chi2"] = d_chi2
            row["delta_df"] = d_df
            row["delta_p"] = float(stats.chi2.sf(max(d_chi2, 0.0), d_df)) if d_df > 0 else np.nan
            row["delta_cfi"] = row["cfi"] - prev["cfi"]
            row["delta_rmsea"] = row["rmsea"] - prev["rmsea"]
            row["chen2007_invariant"] = bool(
                row["delta_cfi"] > -0.010 and row["delta_rmsea"] < 0.015
            )
        if not converged:
            notes.append(f"{level}: optimizer did not converge ({message})")
        rows.append(row)
        params[level] = _parameters(mg, x, labels, factors, items)
        prev = row
    table = pd.DataFrame(rows).set_index("level")
    return InvarianceResult(
        table=table,
        groups={str(lab): int(n) for lab, n in zip(labels, ns, strict=True)},
        notes=tuple(notes),
        parameters=params,
    )


def _indices(chi2: float, df: int, base: float, base_df: int, n: float, g: int) -> dict:
    """p, CFI, TLI and RMSEA (90 % CI) for G groups (lavaan: RMSEA x sqrt(G))."""
    d_model = max(chi2 - df, 0.0)
    denom = max(d_model, base - base_df, 0.0)
    lo, hi = _rmsea_ci(chi2, df, int(n))
    return {
        "p": float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan,
        "cfi": 1.0 if denom == 0 else 1.0 - d_model / denom,
        "tli": ((base / base_df) - (chi2 / df)) / ((base / base_df) - 1.0) if df > 0 else np.nan,
        "rmsea": float(np.sqrt(max(chi2 / n / df - 1.0 / n, 0.0)) * np.sqrt(g)) if df else np.nan,
        "rmsea_ci_low": lo * np.sqrt(g),
        "rmsea_ci_high": hi * np.sqrt(g),
    }


def _invariance_wlsmv(
    frame: pd.DataFrame,
    factors: list[str],
    items: list[str],
    pattern: np.ndarray,
    group: str,
    labels: list[Any],
    levels: list[str],
    notes: list[str],
) -> InvarianceResult:
    """Multi-group WLSMV levels, lavaan's scaled tests and the satorra.2000 differences."""
    from scoring.psychometrics.invariance_wlsmv import (
        baseline,
        fit_level,
        group_stats,
        satorra2000,
    )

    stats_g = group_stats(frame, items, group, labels, notes)
    ns = [s.n for s in stats_g]
    g = len(labels)
    n_eff = float(sum(ns) - g)  # lavaan's WLS family: N - G in the RMSEA
    pooled = np.average([s.corr for s in stats_g], axis=0, weights=ns)
    x0 = _Model(pooled, pattern).start()
    n_load = int(pattern.sum())
    lam0 = np.zeros(pattern.shape)
    lam0[np.nonzero(pattern)] = x0[:n_load]
    phi0 = np.eye(len(factors))
    phi0[np.tril_indices(len(factors), -1)] = x0[
        n_load : n_load + len(factors) * (len(factors) - 1) // 2
    ]
    phi0 = np.tril(phi0) + np.tril(phi0, -1).T
    base, base_ss, base_df = baseline(stats_g)
    rows: list[dict[str, Any]] = []
    params: dict[str, dict[str, Any]] = {}
    prev = None
    with single_thread_blas():
        for level in levels:
            mg, fit = fit_level(stats_g, pattern, level, (lam0, phi0))
            std = _indices(fit.chi2, fit.df, base, base_df, n_eff, g)
            scl = _indices(fit.chi2_scaled, fit.df, base_ss, base_df, n_eff, g)
            row: dict[str, Any] = {
                "level": level,
                "chi2": fit.chi2,
                "df": fit.df,
                "p": std["p"],
                "chi2_scaled": fit.chi2_scaled,
                "p_scaled": scl["p"],
                "scaling_factor": fit.scaling_factor,
                "shift_parameter": fit.shift,
                "cfi": std["cfi"],
                "tli": std["tli"],
                "rmsea": std["rmsea"],
                "cfi_scaled": scl["cfi"],
                "tli_scaled": scl["tli"],
                "rmsea_scaled": scl["rmsea"],
                "rmsea_ci_low_scaled": scl["rmsea_ci_low"],
                "rmsea_ci_high_scaled": scl["rmsea_ci_high"],
                "converged": fit.converged,
            }
            if prev is not None:
                t_d, d_df, p_d = satorra2000(prev[0], prev[1], fit)
                row["delta_chi2"] = t_d
                row["delta_df"] = d_df
                row["delta_p"] = p_d
                row["delta_cfi"] = row["cfi_scaled"] - rows[-1]["cfi_scaled"]
                row["delta_rmsea"] = row["rmsea_scaled"] - rows[-1]["rmsea_scaled"]
                row["chen2007_invariant"] = bool(
                    row["delta_cfi"] > -0.010 and row["delta_rmsea"] < 0.015
                )
            if not fit.converged:
                notes.append(f"{level}: optimizer did not converge ({fit.message})")
            rows.append(row)
            params[level] = _ordinal_parameters(mg, fit.x, labels, factors, items, stats_g)
            prev = (mg, fit)
    notes.append(
        "WLSMV (delta parameterization): Δχ² is the scaled-shifted difference test "
        "(lavaan lavTestLRT, method satorra.2000); ΔCFI and ΔRMSEA use the scaled indices"
    )
    return InvarianceResult(
        table=pd.DataFrame(rows).set_index("level"),
        groups={str(lab): int(n) for lab, n in zip(labels, ns, strict=True)},
        estimator="WLSMV",
        notes=tuple(notes),
        parameters=params,
    )


def _ordinal_parameters(
    mg: Any,
    x: np.ndarray,
    labels: list[Any],
    factors: list[str],
    items: list[str],
    stats_g: list[Any],
) -> dict[str, Any]:
    tau_names = [
        f"{item}|t{t + 1}"
        for item, taus in zip(items, stats_g[0].thresholds, strict=True)
        for t in range(len(taus))
    ]
    out = {}
    for k, lab in enumerate(labels):
        lam, phi, tau, delta, alpha = mg.group_values(x, k)
        out[str(lab)] = {
            "loadings": pd.DataFrame(lam, index=items, columns=factors),
            "factor_covariances": pd.DataFrame(phi, index=factors, columns=factors),
            "thresholds": pd.Series(tau, index=tau_names),
            "scale_factors": pd.Series(delta, index=items),
            "factor_means": pd.Series(alpha, index=factors),
        }
    return out


def _parameters(
    mg: _MultiGroup, x: np.ndarray, labels: list[Any], factors: list[str], items: list[str]
) -> dict[str, Any]:
    out = {}
    for k, lab in enumerate(labels):
        lam, phi, nu, theta, alpha = mg.unpack(x, k)
        out[str(lab)] = {
            "loadings": pd.DataFrame(lam, index=items, columns=factors),
            "factor_covariances": pd.DataFrame(phi, index=factors, columns=factors),
            "intercepts": pd.Series(nu, index=items),
            "residual_variances": pd.Series(theta, index=items),
            "factor_means": pd.Series(alpha, index=factors),
        }
    return out


__all__ = ["invariance", "InvarianceResult", "LEVELS", "WLSMV_LEVELS"]
