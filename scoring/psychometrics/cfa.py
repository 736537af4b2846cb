"""Confirmatory factor analysis: maximum likelihood on the covariance structure.

The model is ``Sigma = Lambda Phi Lambda' + Theta`` with correlated factors, **factor
variances fixed to 1** (lavaan's ``std.lv = TRUE``), free loadings, free factor
correlations and a diagonal ``Theta`` of free residual variances. This is the same model
as lavaan's default (first loading fixed to 1) re-parameterised, so chi-square, the fit
indices and the standardized loadings (lavaan's ``std.all``) are identical.

Estimation minimises the ML discrepancy ``F = log|Sigma| + tr(S Sigma^-1) - log|S| - p``
with the analytic gradient (L-BFGS), where ``S`` is the sample covariance with divisor N.
As in lavaan, ``chi2 = N * F``. Fit indices follow lavaan's definitions (see
``docs/psychometrics.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from scoring.psychometrics.results import _clean

IDENTIFICATION = "factor variances fixed to 1 (std.lv); all loadings free"


@dataclass(frozen=True)
class CFAResult:
    """Fit of a CFA model: test statistic, fit indices and the standardized solution."""

    n: int
    chi2: float
    df: int
    p: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci_low: float
    rmsea_ci_high: float
    srmr: float
    baseline_chi2: float
    baseline_df: int
    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    residual_variances: pd.DataFrame
    converged: bool
    identification: str = IDENTIFICATION
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rmsea_ci(self) -> tuple[float, float]:
        """90 % confidence interval of the RMSEA."""
        return (self.rmsea_ci_low, self.rmsea_ci_high)

    def fit_indices(self) -> dict[str, Any]:
        """The test statistic and fit indices as a flat dict."""
        return _clean(
            {
                "n": self.n,
                "chi2": self.chi2,
                "df": self.df,
                "p": self.p,
                "cfi": self.cfi,
                "tli": self.tli,
                "rmsea": self.rmsea,
                "rmsea_ci_low": self.rmsea_ci_low,
                "rmsea_ci_high": self.rmsea_ci_high,
                "srmr": self.srmr,
                "baseline_chi2": self.baseline_chi2,
                "baseline_df": self.baseline_df,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (fit indices, loadings, factor correlations)."""
        out = self.fit_indices()
        out["converged"] = self.converged
        out["identification"] = self.identification
        out["warnings"] = list(self.warnings)
        out["loadings"] = _clean(self.loadings.to_dict(orient="records"))
        out["factor_correlations"] = _clean(self.factor_correlations.to_dict())
        out["residual_variances"] = _clean(self.residual_variances.to_dict(orient="records"))
        return out


def _validate_model(
    data: pd.DataFrame, model: Mapping[str, Sequence[str]]
) -> tuple[list[str], list[str], np.ndarray]:
    if not isinstance(model, Mapping) or not model:
        raise ValueError("model must be a non-empty dict: factor name -> list of item columns")
    factors = [str(f) for f in model]
    items: list[str] = []
    for factor, cols in model.items():
        if isinstance(cols, str) or len(cols) < 2:
            raise ValueError(f"factor {factor!r} needs at least two items (got {cols!r})")
        for c in cols:
            if c not in data.columns:
                raise ValueError(f"item {c!r} of factor {factor!r} is not a column of the data")
            if c not in items:
                items.append(c)
    pattern = np.zeros((len(items), len(factors)), dtype=bool)
    for j, cols in enumerate(model.values()):
        for c in cols:
            pattern[items.index(c), j] = True
    return factors, items, pattern


class _Model:
    """Parameter bookkeeping and ML discrepancy with its gradient."""

    def __init__(self, s: np.ndarray, pattern: np.ndarray):
        self.s = s
        self.p, self.m = pattern.shape
        self.pattern = pattern
        self.load_idx = np.nonzero(pattern)
        self.n_load = int(pattern.sum())
        self.phi_idx = np.tril_indices(self.m, -1)
        self.n_phi = len(self.phi_idx[0])
        self.n_par = self.n_load + self.n_phi + self.p
        sign, self.logdet_s = np.linalg.slogdet(s)
        if sign <= 0:
            raise ValueError(
                "the sample covariance matrix is singular (collinear or constant items)"
            )

    def unpack(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lam = np.zeros((self.p, self.m))
        lam[self.load_idx] = x[: self.n_load]
        phi = np.eye(self.m)
        phi[self.phi_idx] = x[self.n_load : self.n_load + self.n_phi]
        phi = phi + np.tril(phi, -1).T
        theta = x[self.n_load + self.n_phi :]
        return lam, phi, theta

    def sigma(self, x: np.ndarray) -> np.ndarray:
        lam, phi, theta = self.unpack(x)
        return lam @ phi @ lam.T + np.diag(theta)

    def fun_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        lam, phi, theta = self.unpack(x)
        sigma = lam @ phi @ lam.T + np.diag(theta)
        try:
            chol = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(x)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        inv = np.linalg.inv(sigma)
        f = logdet + float(np.sum(inv * self.s)) - self.logdet_s - self.p
        w = inv - inv @ self.s @ inv
        g_lam = 2.0 * w @ lam @ phi
        g_phi = 2.0 * lam.T @ w @ lam
        grad = np.concatenate([g_lam[self.load_idx], g_phi[self.phi_idx], np.diag(w)])
        return f, grad

    def start(self) -> np.ndarray:
        """Starting values: one-factor principal axis per factor, unit-weighted correlations."""
        lam = np.zeros((self.p, self.m))
        sd = np.sqrt(np.diag(self.s))
        corr = self.s / np.outer(sd, sd)
        for j in range(self.m):
            idx = np.flatnonzero(self.pattern[:, j])
            sub = corr[np.ix_(idx, idx)]
            vals, vecs = np.linalg.eigh(sub)
            v = vecs[:, -1] * np.sqrt(max(vals[-1] - 1.0, 0.1 * vals[-1]) / max(len(idx) - 1, 1))
            v = v * (len(idx) / max(len(idx) - 0.5, 1.0)) ** 0.5
            if v.sum() < 0:
                v = -v
            lam[idx, j] = np.clip(v, -0.95, 0.95) * sd[idx]
        weights = self.pattern / np.maximum(sd[:, None], 1e-12)
        fcov = weights.T @ self.s @ weights
        fsd = np.sqrt(np.diag(fcov))
        phi = np.clip(fcov / np.outer(fsd, fsd), -0.9, 0.9)
        theta = np.maximum(np.diag(self.s) - np.sum(lam**2, axis=1), 0.1 * np.diag(self.s))
        return np.concatenate([lam[self.load_idx], phi[self.phi_idx], theta])


def _rmsea_ci(chi2: float, df: int, n: int, level: float = 0.90) -> tuple[float, float]:
    """CI of the RMSEA by inverting the noncentral chi-square (as lavaan does)."""
    if df <= 0:
        return (np.nan, np.nan)
    upper_p = 1.0 - (1.0 - level) / 2.0  # 0.95
    lower_p = 1.0 - upper_p  # 0.05

    def ncp_for(target: float) -> float:
        # find lambda with P(X <= chi2 | df, lambda) = target; the cdf falls with lambda.
        if stats.chi2.cdf(chi2, df) < target:
            return 0.0
        hi = max(chi2, 1.0)
        while stats.ncx2.cdf(chi2, df, hi) > target:
            hi *= 2.0
        return optimize.brentq(lambda lam: stats.ncx2.cdf(chi2, df, lam) - target, 0.0, hi)

    lo = ncp_for(upper_p)
    hi = ncp_for(lower_p)
    return (float(np.sqrt(lo / (n * df))), float(np.sqrt(hi / (n * df))))


def _complete_cases(data: pd.DataFrame, items: list[str], missing: str) -> np.ndarray:
    if missing != "listwise":
        raise ValueError(f"missing={missing!r} is not supported (use 'listwise')")
    frame = data[items].apply(pd.to_numeric, errors="coerce")
    x = frame.to_numpy(dtype=np.float64)
    return x[~np.isnan(x).any(axis=1)]


def cfa(
    data: pd.DataFrame, model: Mapping[str, Sequence[str]], *, missing: str = "listwise"
) -> CFAResult:
    """Fit a confirmatory factor model by maximum likelihood.

    ``model`` maps factor names to item columns (``{"PF": ["q03", ...], ...}``); factors
    are correlated, their variances fixed to 1. Rows with a missing item are dropped
    (``missing="listwise"``). Returns chi-square (N * F_ML, as lavaan), df, p, CFI, TLI,
    RMSEA with 90 % CI, SRMR (Bentler, as lavaan's ``srmr``) and standardized loadings
    equal to lavaan's ``std.all``.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    factors, items, pattern = _validate_model(data, model)
    x = _complete_cases(data, items, missing)
    n, p = x.shape
    if n <= p:
        raise ValueError(f"too few complete rows for CFA ({n} rows, {p} items)")
    s = np.cov(x, rowvar=False, ddof=0)
    mdl = _Model(s, pattern)
    df = p * (p + 1) // 2 - mdl.n_par
    if df < 0:
        raise ValueError(f"the model is not identified (df = {df})")
    res = optimize.minimize(
        mdl.fun_grad,
        mdl.start(),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 30},
    )
    xhat = res.x
    fmin = float(res.fun)
    converged = bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-5
    lam, phi, theta = mdl.unpack(xhat)
    # sign convention: make each factor's loadings sum positive (flip its correlations too)
    flip = np.where(lam.sum(axis=0) < 0, -1.0, 1.0)
    lam = lam * flip
    phi = phi * np.outer(flip, flip)
    sigma = lam @ phi @ lam.T + np.diag(theta)

    chi2 = n * fmin
    pval = float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan
    base_chi2 = n * (float(np.sum(np.log(np.diag(s)))) - mdl.logdet_s)
    base_df = p * (p - 1) // 2
    d_model = max(chi2 - df, 0.0)
    d_base = max(base_chi2 - base_df, 0.0)
    denom = max(d_model, d_base)
    cfi = 1.0 if denom == 0 else 1.0 - d_model / denom
    tli = (
        ((base_chi2 / base_df) - (chi2 / df)) / ((base_chi2 / base_df) - 1.0) if df > 0 else np.nan
    )
    rmsea = float(np.sqrt(max(chi2 / n / df - 1.0 / n, 0.0))) if df > 0 else np.nan
    ci_lo, ci_hi = _rmsea_ci(chi2, df, n)
    sd_obs = np.sqrt(np.diag(s))
    resid = (s - sigma) / np.outer(sd_obs, sd_obs)
    srmr = float(np.sqrt(np.mean(resid[np.tril_indices(p)] ** 2)))

    sd_model = np.sqrt(np.diag(sigma))
    rows = []
    for i, j in zip(*np.nonzero(pattern), strict=True):
        rows.append(
            {
                "factor": factors[j],
                "item": items[i],
                "estimate": float(lam[i, j]),
                "std_all": float(lam[i, j] / sd_model[i]),
            }
        )
    loadings = pd.DataFrame(rows).sort_values(["factor", "item"], key=_order(factors, items))
    loadings = loadings.reset_index(drop=True)
    resvar = pd.DataFrame(
        {"item": items, "estimate": theta, "std_all": theta / np.diag(sigma)}
    )
    warnings: list[str] = []
    if (theta < 0).any():
        bad = ", ".join(np.asarray(items)[theta < 0])
        warnings.append(f"negative residual variance (Heywood case): {bad}")
    if not converged:
        warnings.append(f"optimizer did not converge: {res.message}")
    return CFAResult(
        n=int(n),
        chi2=float(chi2),
        df=int(df),
        p=pval,
        cfi=float(cfi),
        tli=float(tli),
        rmsea=rmsea,
        rmsea_ci_low=ci_lo,
        rmsea_ci_high=ci_hi,
        srmr=srmr,
        baseline_chi2=float(base_chi2),
        baseline_df=int(base_df),
        loadings=loadings,
        factor_correlations=pd.DataFrame(phi, index=factors, columns=factors),
        residual_variances=resvar,
        converged=converged,
        warnings=tuple(warnings),
    )


def _order(factors: list[str], items: list[str]):
    def key(col: pd.Series) -> pd.Series:
        order = factors if col.name == "factor" else items
        return col.map({name: k for k, name in enumerate(order)})

    return key
