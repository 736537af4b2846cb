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
from scoring.psychometrics.threads import single_thread_blas

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
    estimator: str = "ML"
    residual_covariances: pd.DataFrame | None = None
    thresholds: pd.DataFrame | None = None
    chi2_scaled: float | None = None
    p_scaled: float | None = None
    scaling_factor: float | None = None
    shift_parameter: float | None = None
    baseline_chi2_scaled: float | None = None
    cfi_scaled: float | None = None
    tli_scaled: float | None = None
    rmsea_scaled: float | None = None
    rmsea_ci_low_scaled: float | None = None
    rmsea_ci_high_scaled: float | None = None
    test: str = "standard"
    admissible: bool = True
    missing: str = "listwise"
    intercepts: pd.DataFrame | None = None
    cfi_robust: float | None = None
    tli_robust: float | None = None
    rmsea_robust: float | None = None

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
                **self._robust_indices(),
            }
        )

    def _robust_indices(self) -> dict[str, Any]:
        if self.chi2_scaled is None:
            return {}
        return {
            "estimator": self.estimator,
            "test": self.test,
            "chi2_scaled": self.chi2_scaled,
            "p_scaled": self.p_scaled,
            "scaling_factor": self.scaling_factor,
            "shift_parameter": self.shift_parameter,
            "baseline_chi2_scaled": self.baseline_chi2_scaled,
            "cfi_scaled": self.cfi_scaled,
            "tli_scaled": self.tli_scaled,
            "rmsea_scaled": self.rmsea_scaled,
            "rmsea_ci_low_scaled": self.rmsea_ci_low_scaled,
            "rmsea_ci_high_scaled": self.rmsea_ci_high_scaled,
            **(
                {
                    "cfi_robust": self.cfi_robust,
                    "tli_robust": self.tli_robust,
                    "rmsea_robust": self.rmsea_robust,
                }
                if self.cfi_robust is not None
                else {}
            ),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (fit indices, loadings, factor correlations)."""
        out = self.fit_indices()
        out["converged"] = self.converged
        out["admissible"] = self.admissible
        out["identification"] = self.identification
        out["warnings"] = list(self.warnings)
        out["loadings"] = _clean(self.loadings.to_dict(orient="records"))
        out["factor_correlations"] = _clean(self.factor_correlations.to_dict())
        out["residual_variances"] = _clean(self.residual_variances.to_dict(orient="records"))
        if self.residual_covariances is not None:
            out["residual_covariances"] = _clean(
                self.residual_covariances.to_dict(orient="records")
            )
        if self.thresholds is not None:
            out["thresholds"] = _clean(self.thresholds.to_dict(orient="records"))
        if self.intercepts is not None:
            out["missing"] = self.missing
            out["intercepts"] = _clean(self.intercepts.to_dict(orient="records"))
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

    def __init__(
        self, s: np.ndarray, pattern: np.ndarray, resid_pairs: Sequence[tuple[int, int]] = ()
    ):
        self.s = s
        self.p, self.m = pattern.shape
        self.pattern = pattern
        self.load_idx = np.nonzero(pattern)
        self.n_load = int(pattern.sum())
        self.phi_idx = np.tril_indices(self.m, -1)
        self.n_phi = len(self.phi_idx[0])
        self.rc_idx = (
            np.array([a for a, _ in resid_pairs], dtype=int),
            np.array([b for _, b in resid_pairs], dtype=int),
        )
        self.n_rc = len(resid_pairs)
        self.n_par = self.n_load + self.n_phi + self.p + self.n_rc
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
        start = self.n_load + self.n_phi
        theta = x[start : start + self.p]
        return lam, phi, theta

    def theta_matrix(self, x: np.ndarray) -> np.ndarray:
        """Residual covariance matrix (diagonal plus the free residual covariances)."""
        theta = np.diag(x[self.n_load + self.n_phi : self.n_load + self.n_phi + self.p])
        rc = x[self.n_load + self.n_phi + self.p :]
        theta[self.rc_idx] = rc
        theta[self.rc_idx[1], self.rc_idx[0]] = rc
        return theta

    def sigma(self, x: np.ndarray) -> np.ndarray:
        lam, phi, _ = self.unpack(x)
        return lam @ phi @ lam.T + self.theta_matrix(x)

    def fun_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        lam, phi, _ = self.unpack(x)
        sigma = lam @ phi @ lam.T + self.theta_matrix(x)
        try:
            chol = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(x)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        inv = np.linalg.inv(sigma)
        f = logdet + float(np.sum(inv * self.s)) - self.logdet_s - self.p
        return f, self.grad_from_w(x, inv - inv @ self.s @ inv)

    def grad_from_w(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Gradient of a loss with d loss = tr(W d Sigma) with respect to the parameters."""
        lam, phi, _ = self.unpack(x)
        g_lam = 2.0 * w @ lam @ phi
        g_phi = 2.0 * lam.T @ w @ lam
        return np.concatenate(
            [g_lam[self.load_idx], g_phi[self.phi_idx], np.diag(w), 2.0 * w[self.rc_idx]]
        )

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
        return np.concatenate([lam[self.load_idx], phi[self.phi_idx], theta, np.zeros(self.n_rc)])


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


def numeric_values(data: pd.DataFrame, columns: Sequence[str], what: str = "item") -> np.ndarray:
    """The columns as a float array; ValueError for text that is not a number or for inf.

    Numbers stored as text ("3") are accepted; any other text (e.g. "n/a") is an error
    naming the column and the value, never silently turned into a missing value.
    """
    out = np.empty((len(data), len(columns)))
    for k, col in enumerate(columns):
        series = data[col]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            converted = pd.to_numeric(series, errors="coerce")
            bad = series.notna() & converted.isna()
            if bad.any():
                example = series[bad].iloc[0]
                raise ValueError(
                    f"{what} column {col!r} has non-numeric values (e.g. {example!r} in "
                    f"{int(bad.sum())} rows); recode or blank them first"
                )
            values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(values).any():
            raise ValueError(f"{what} column {col!r} has infinite values")
        out[:, k] = values
    return out


def check_not_collinear(x: np.ndarray, items: Sequence[str]) -> None:
    """ValueError naming the items when the correlation matrix is (numerically) singular."""
    sd = x.std(axis=0)
    const = [items[j] for j in np.flatnonzero(sd == 0)]
    if const:
        raise ValueError(f"constant items (no variance): {', '.join(const)}")
    corr = np.corrcoef(x, rowvar=False)
    vals, vecs = np.linalg.eigh(corr)
    if vals[0] < 1e-10:
        involved = [items[j] for j in np.flatnonzero(np.abs(vecs[:, 0]) > 0.05)]
        raise ValueError(
            "the items are perfectly collinear (one is a linear combination of others: "
            f"{', '.join(involved)}); the covariance matrix is singular, as lavaan refuses"
        )


def _complete_cases(data: pd.DataFrame, items: list[str], missing: str) -> np.ndarray:
    if missing not in ("listwise", "fiml"):
        raise ValueError(f"missing={missing!r} is not supported (use 'listwise' or 'fiml')")
    x = numeric_values(data, items)
    if missing == "fiml":  # every row with at least one answer (lavaan missing = "ml")
        return x[~np.isnan(x).all(axis=1)]
    return x[~np.isnan(x).any(axis=1)]


def _admissibility(
    phi: np.ndarray, theta: np.ndarray, factors: list[str], items: list[str]
) -> list[str]:
    """Warnings for an inadmissible solution (as lavaan's post-fit checks)."""
    out = []
    if (theta < 0).any():
        bad = ", ".join(np.asarray(items)[theta < 0])
        out.append(f"negative residual variance (Heywood case): {bad}")
    if len(factors) > 1:
        low = float(np.min(np.linalg.eigvalsh(phi)))
        off = np.abs(phi[np.tril_indices(len(factors), -1)])
        if low <= 1e-8 or (off >= 1.0).any():
            out.append(
                "the factor correlation matrix is not positive definite (smallest "
                f"eigenvalue {low:.2e}, largest |r| {off.max():.4f}): the solution is not "
                "admissible"
            )
    return out


def _resid_pairs(
    items: list[str], residual_covariances: Sequence[tuple[str, str]] | None
) -> list[tuple[int, int]]:
    pairs: list[tuple[int, int]] = []
    for pair in residual_covariances or ():
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"residual covariances are pairs of item names, got {pair!r}")
        a, b = (str(v) for v in pair)
        for name in (a, b):
            if name not in items:
                raise ValueError(f"residual covariance item {name!r} is not an item of the model")
        if a == b:
            raise ValueError(f"a residual covariance needs two different items, got {pair!r}")
        i, j = sorted((items.index(a), items.index(b)), reverse=True)
        if (i, j) in pairs:
            raise ValueError(f"residual covariance {pair!r} is listed twice")
        pairs.append((i, j))
    return pairs


def _resolve_estimator(
    estimator: str | None, ordered: bool | Sequence[str] | None, items: list[str]
) -> str:
    ordered_items: list[str] = []
    if ordered is True:
        ordered_items = list(items)
    elif ordered not in (None, False):
        ordered_items = [str(c) for c in ordered]  # type: ignore[union-attr]
    est = (estimator or ("WLSMV" if ordered_items else "ML")).upper()
    if est not in ("ML", "MLR", "WLSMV"):
        raise ValueError(f"unknown estimator {estimator!r} (use 'ML', 'MLR' or 'WLSMV')")
    if est == "WLSMV":
        if ordered_items and set(items) - set(ordered_items):
            rest = ", ".join(sorted(set(items) - set(ordered_items)))
            raise ValueError(
                "WLSMV needs every item of the model declared ordered (mixed ordinal and "
                f"continuous items are not supported); not ordered: {rest}"
            )
    elif ordered_items:
        raise ValueError("ordered items need estimator='WLSMV'")
    return est


def cfa(
    data: pd.DataFrame,
    model: Mapping[str, Sequence[str]],
    *,
    missing: str = "listwise",
    estimator: str | None = None,
    ordered: bool | Sequence[str] | None = None,
    residual_covariances: Sequence[tuple[str, str]] | None = None,
) -> CFAResult:
    """Fit a confirmatory factor model (ML on covariances, or WLSMV on polychorics).

    ``model`` maps factor names to item columns (``{"PF": ["q03", ...], ...}``); factors
    are correlated, their variances fixed to 1. Rows with a missing item are dropped
    (``missing="listwise"``). ``residual_covariances`` lists item pairs whose residuals
    correlate (lavaan ``y1 ~~ y5``).

    ``estimator="ML"`` (default without ``ordered``): chi-square (N * F_ML, as lavaan), df,
    p, CFI, TLI, RMSEA with 90 % CI, SRMR (Bentler, as lavaan's ``srmr``) and standardized
    loadings equal to lavaan's ``std.all``. ``ordered=True`` (or the list of all model
    items) or ``estimator="WLSMV"``: DWLS on the polychoric correlations with robust
    standard errors and the scaled-shifted chi-square, as lavaan ``cfa(..., ordered =
    TRUE)`` (see ``scoring.psychometrics.wlsmv``).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    factors, items, pattern = _validate_model(data, model)
    est = _resolve_estimator(estimator, ordered, items)
    resid_pairs = _resid_pairs(items, residual_covariances)
    x = _complete_cases(data, items, missing)
    n, p = x.shape
    if n <= p:
        raise ValueError(f"too few complete rows for CFA ({n} rows, {p} items)")
    if missing == "fiml":
        if est != "ML":  # MLR with FIML (lavaan's default for MLR + missing = "ml") not done
            raise ValueError("missing='fiml' needs estimator='ML' (lavaan missing = 'ml')")
        return _cfa_ml(x, factors, items, pattern, resid_pairs, fiml=True)
    check_not_collinear(x, items)
    if est == "WLSMV":
        return _cfa_wlsmv(x, factors, items, pattern, resid_pairs)
    return _cfa_ml(x, factors, items, pattern, resid_pairs, robust=est == "MLR")


def _cfa_ml(
    x: np.ndarray,
    factors: list[str],
    items: list[str],
    pattern: np.ndarray,
    resid_pairs: list[tuple[int, int]],
    fiml: bool = False,
    robust: bool = False,
) -> CFAResult:
    n, p = x.shape
    if fiml:
        from scoring.psychometrics import fiml as fm

        pats = fm.patterns(x)
        with single_thread_blas():
            mu_sat, s, f_sat = fm.saturated(x, pats)
    else:
        s = np.cov(x, rowvar=False, ddof=0)
    mdl = _Model(s, pattern, resid_pairs)
    df = p * (p + 1) // 2 - mdl.n_par
    if df < 0:
        raise ValueError(f"the model is not identified (df = {df})")
    with single_thread_blas():
        if fiml:

            def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
                xm, mu = theta[: mdl.n_par], theta[mdl.n_par :]
                f, w, g_mu = fm.loss_grad(mdl.sigma(xm), mu, pats)
                if not np.isfinite(f):
                    return 1e10, np.zeros_like(theta)
                # per respondent, so L-BFGS's tolerances mean what they mean for ML
                return f / n, np.concatenate([mdl.grad_from_w(xm, w), g_mu]) / n

            res = fm.minimize(fun, np.concatenate([mdl.start(), mu_sat]))
        else:
            res = optimize.minimize(
                mdl.fun_grad,
                mdl.start(),
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 30},
            )
    xhat = res.x[: mdl.n_par]
    fmin = float(res.fun)
    converged = bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-5
    lam, phi, theta = mdl.unpack(xhat)
    # sign convention: make each factor's loadings sum positive (flip its correlations too)
    flip = np.where(lam.sum(axis=0) < 0, -1.0, 1.0)
    lam = lam * flip
    phi = phi * np.outer(flip, flip)
    theta_m = mdl.theta_matrix(xhat)
    sigma = lam @ phi @ lam.T + theta_m

    if fiml:  # -2 (log L_model - log L_saturated); baseline likewise
        chi2 = n * fmin - f_sat
        base_chi2 = fm.baseline(x) - f_sat
        intercepts = pd.DataFrame({"item": items, "estimate": res.x[mdl.n_par :]})
    else:
        chi2 = n * fmin
        base_chi2 = n * (float(np.sum(np.log(np.diag(s)))) - mdl.logdet_s)
        intercepts = None
    base_df = p * (p - 1) // 2
    pval, cfi, tli, rmsea, ci_lo, ci_hi = _fit_measures(chi2, df, base_chi2, base_df, n)
    sd_obs = np.sqrt(np.diag(s))
    resid = (s - sigma) / np.outer(sd_obs, sd_obs)
    squares = resid[np.tril_indices(p)] ** 2
    if fiml:  # with a mean structure lavaan's SRMR also averages the standardized mean residuals
        squares = np.concatenate([squares, ((mu_sat - res.x[mdl.n_par :]) / sd_obs) ** 2])
    srmr = float(np.sqrt(np.mean(squares)))

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
    extra: dict[str, Any] = {}
    if robust:
        extra = _mlr(x, mdl, xhat, df, chi2, base_chi2, base_df)
        rows = [dict(r, se=float(se)) for r, se in zip(rows, extra.pop("se"), strict=True)]
    loadings = pd.DataFrame(rows).sort_values(["factor", "item"], key=_order(factors, items))
    loadings = loadings.reset_index(drop=True)
    resvar = pd.DataFrame({"item": items, "estimate": theta, "std_all": theta / np.diag(sigma)})
    warnings = _admissibility(phi, theta, factors, items)
    admissible = not warnings
    if not converged:
        warnings.append(f"optimizer did not converge: {res.message}")
    return CFAResult(
        **extra,
        admissible=admissible,
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
        residual_covariances=_resid_cov_table(items, resid_pairs, theta_m),
        missing="fiml" if fiml else "listwise",
        intercepts=intercepts,
    )


def _mlr(
    x: np.ndarray,
    mdl: _Model,
    xhat: np.ndarray,
    df: int,
    chi2: float,
    base_chi2: float,
    base_df: int,
) -> dict[str, Any]:
    """Yuan–Bentler (Mplus) scaled test, robust indices and sandwich SEs (lavaan MLR)."""
    from scoring.psychometrics import mlr

    n = x.shape[0]
    jac = mlr.numeric_jacobian(mdl.sigma, xhat)
    info = mlr.hessian_half(lambda t: mdl.fun_grad(t)[1], xhat)
    c, j = mlr.mlr_terms(x, mdl.sigma(xhat), jac, info, df)
    c_base = mlr.baseline_scaling_factor(x)
    inv = np.linalg.inv(info)
    se = np.sqrt(np.clip(np.diag(inv @ j @ inv) / n, 0.0, None))[: mdl.n_load]
    t_s, b_s = chi2 / c, base_chi2 / c_base
    p_s, cfi_s, tli_s, rmsea_s, _, _ = _fit_measures(t_s, df, b_s, base_df, n)
    lo_s, hi_s = _rmsea_ci(chi2, c * df, n)  # lavaan: unscaled chi2 on df * c
    robust = mlr.robust_indices(chi2, df, c, base_chi2, base_df, c_base, n)
    # SEs follow the pattern order (np.nonzero of the pattern), as the loading rows do
    return {
        "se": se,
        "estimator": "MLR",
        "test": "yuan.bentler.mplus",
        "chi2_scaled": float(t_s),
        "p_scaled": p_s,
        "scaling_factor": float(c),
        "shift_parameter": None,
        "baseline_chi2_scaled": float(b_s),
        "cfi_scaled": cfi_s,
        "tli_scaled": tli_s,
        "rmsea_scaled": rmsea_s,
        "rmsea_ci_low_scaled": lo_s,
        "rmsea_ci_high_scaled": hi_s,
        "cfi_robust": robust["cfi_robust"],
        "tli_robust": robust["tli_robust"],
        "rmsea_robust": robust["rmsea_robust"],
    }


def _resid_cov_table(
    items: list[str],
    resid_pairs: list[tuple[int, int]],
    theta_m: np.ndarray,
    se: np.ndarray | None = None,
) -> pd.DataFrame | None:
    """Free residual covariances with lavaan's std.all (covariance / sqrt(theta_i theta_j))."""
    if not resid_pairs:
        return None
    rows = []
    for k, (i, j) in enumerate(resid_pairs):
        a, b = sorted((i, j))
        row = {
            "item1": items[a],
            "item2": items[b],
            "estimate": float(theta_m[i, j]),
            "std_all": float(theta_m[i, j] / np.sqrt(theta_m[i, i] * theta_m[j, j])),
        }
        if se is not None:
            row["se"] = float(se[k])
        rows.append(row)
    return pd.DataFrame(rows)


def _fit_measures(
    chi2: float, df: int, base_chi2: float, base_df: int, n: int
) -> tuple[float, float, float, float, float, float]:
    """p, CFI, TLI, RMSEA and its 90 % CI from a test statistic (lavaan's formulas)."""
    pval = float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan
    d_model = max(chi2 - df, 0.0)
    d_base = max(base_chi2 - base_df, 0.0)
    denom = max(d_model, d_base)
    cfi = 1.0 if denom == 0 else 1.0 - d_model / denom
    tli = (
        ((base_chi2 / base_df) - (chi2 / df)) / ((base_chi2 / base_df) - 1.0) if df > 0 else np.nan
    )
    rmsea = float(np.sqrt(max(chi2 / n / df - 1.0 / n, 0.0))) if df > 0 else np.nan
    ci_lo, ci_hi = _rmsea_ci(chi2, df, n)
    return pval, float(cfi), float(tli), rmsea, ci_lo, ci_hi


def _cfa_wlsmv(
    x: np.ndarray,
    factors: list[str],
    items: list[str],
    pattern: np.ndarray,
    resid_pairs: list[tuple[int, int]],
) -> CFAResult:
    from scoring.psychometrics.polychoric import code_items
    from scoring.psychometrics.wlsmv import catml_robust, fit_dwls, ordinal_stats

    n, p = x.shape
    coded = code_items(pd.DataFrame(x, columns=items))
    st = ordinal_stats(coded)
    if np.min(np.linalg.eigvalsh(st.corr)) <= 0:
        raise ValueError("the polychoric correlation matrix is not positive definite")
    n_free = int(pattern.sum()) + pattern.shape[1] * (pattern.shape[1] - 1) // 2
    start = _Model(st.corr, pattern).start()[:n_free]
    with single_thread_blas():
        fit = fit_dwls(st, pattern, resid_pairs, start)
    df = fit.df
    if df < 0:
        raise ValueError(f"the model is not identified (df = {df})")
    lam, phi = fit.lam, fit.phi
    # lavaan's WLS family counts N - 1 (in the statistic and in the RMSEA)
    pval, cfi, tli, rmsea, ci_lo, ci_hi = _fit_measures(
        fit.chi2, df, fit.baseline_chi2, fit.baseline_df, n - 1
    )
    p_s, cfi_s, tli_s, rmsea_s, ci_lo_s, ci_hi_s = _fit_measures(
        fit.chi2_scaled, df, fit.baseline_chi2_scaled, fit.baseline_df, n - 1
    )
    robust = (np.nan, np.nan, np.nan)
    if df > 0 and fit.jac_rho is not None:
        robust = catml_robust(st, fit.implied, fit.jac_rho, df)
    resid = st.corr - fit.implied
    # lavaan's srmr for correlations: the (zero) diagonal counts in the mean
    srmr = float(np.sqrt(np.mean(resid[np.tril_indices(p)] ** 2)))
    n_load = int(pattern.sum())
    rows = []
    for k, (i, j) in enumerate(zip(*np.nonzero(pattern), strict=True)):
        rows.append(
            {
                "factor": factors[j],
                "item": items[i],
                "estimate": float(lam[i, j]),
                "std_all": float(lam[i, j]),
                "se": float(fit.se[k]),
            }
        )
    loadings = pd.DataFrame(rows).sort_values(["factor", "item"], key=_order(factors, items))
    loadings = loadings.reset_index(drop=True)
    common = np.diag(lam @ phi @ lam.T)
    theta = 1.0 - common
    theta_m = np.diag(theta)
    for k, (i, j) in enumerate(resid_pairs):
        theta_m[i, j] = theta_m[j, i] = fit.resid_cov[k]
    resvar = pd.DataFrame({"item": items, "estimate": theta, "std_all": theta})
    n_phi = pattern.shape[1] * (pattern.shape[1] - 1) // 2
    tau_rows = [
        {"item": name, "threshold": f"t{t + 1}", "estimate": float(v)}
        for name, taus in zip(items, st.thresholds, strict=True)
        for t, v in enumerate(taus)
    ]
    warnings = _admissibility(phi, theta, factors, items)
    admissible = not warnings
    if not fit.converged:
        warnings.append(f"optimizer did not converge: {fit.message}")
    return CFAResult(
        admissible=admissible,
        n=int(n),
        chi2=fit.chi2,
        df=int(df),
        p=pval,
        cfi=cfi,
        tli=tli,
        rmsea=rmsea,
        rmsea_ci_low=ci_lo,
        rmsea_ci_high=ci_hi,
        srmr=srmr,
        baseline_chi2=fit.baseline_chi2,
        baseline_df=fit.baseline_df,
        loadings=loadings,
        factor_correlations=pd.DataFrame(phi, index=factors, columns=factors),
        residual_variances=resvar,
        converged=fit.converged,
        warnings=tuple(warnings),
        estimator="WLSMV",
        residual_covariances=_resid_cov_table(
            items, resid_pairs, theta_m, fit.se[n_load + n_phi :]
        ),
        thresholds=pd.DataFrame(tau_rows),
        chi2_scaled=fit.chi2_scaled,
        p_scaled=p_s,
        scaling_factor=fit.scaling_factor,
        shift_parameter=fit.shift,
        baseline_chi2_scaled=fit.baseline_chi2_scaled,
        cfi_scaled=cfi_s,
        tli_scaled=tli_s,
        rmsea_scaled=rmsea_s,
        rmsea_ci_low_scaled=ci_lo_s,
        rmsea_ci_high_scaled=ci_hi_s,
        test="scaled.shifted",
        cfi_robust=robust[0],
        tli_robust=robust[1],
        rmsea_robust=robust[2],
    )


def _order(factors: list[str], items: list[str]):
    def key(col: pd.Series) -> pd.Series:
        order = factors if col.name == "factor" else items
        return col.map({name: k for k, name in enumerate(order)})

    return key
