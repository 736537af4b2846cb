"""Internal consistency: Cronbach's alpha with Feldt's CI, and McDonald's omega.

``omega`` follows ``psych::omega`` (Revelle): a minres factor solution of the correlation
matrix is rotated to varimax and then obliquely to oblimin (GPArotation's criterion,
gamma = 0, no Kaiser normalisation), and the Schmid–Leiman transformation expresses it
as one general factor plus ``n_factors`` orthogonal group factors. The general factor's
loadings on the group factors come from a one-factor minres fit of the factor
correlations (for two group factors both are set to sqrt(phi12), psych's
``option = "equal"``). Items with a negative general loading are reversed (psych's
``flip = TRUE``); omega hierarchical = (sum g)^2 / Vt and omega total = (Vt - sum u2) / Vt,
where Vt is the sum of the (reflected) correlation matrix and u2 the uniquenesses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from scoring.psychometrics.factor import extract, rotate
from scoring.psychometrics.items import (
    alpha_from_covariance,
    apply_missing,
    as_item_frame,
    check_missing_mode,
    check_not_constant,
    correlation,
    covariance,
)
from scoring.psychometrics.results import Estimate, _clean


def _check_level(ci: float) -> None:
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci!r}")


def feldt_interval(alpha: float, n: int, k: int, ci: float = 0.95) -> tuple[float, float]:
    """Feldt (1965) / Feldt, Woodruff & Salih (1987) interval, as ``psych::alpha.ci``.

    (1 - alpha) follows (1 - alpha_pop) * F(n - 1, (n - 1)(k - 1)).
    """
    tail = (1 - ci) / 2
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.ppf(1 - tail, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(tail, df1, df2)
    return float(low), float(high)


def cronbach_alpha(items: pd.DataFrame, *, missing: str = "listwise", ci: float = 0.95) -> Estimate:
    """Cronbach's alpha of keyed item scores (rows = respondents, columns = items).

    ``missing="listwise"`` uses complete rows; ``"pairwise"`` uses the pairwise-complete
    covariance matrix (as ``psych::alpha``) with n = rows with any answer for the CI.
    The CI is Feldt's F-based interval. ``extra`` holds ``k``, ``std_alpha`` (alpha of the
    correlation matrix) and the missing-data mode.
    """
    _check_level(ci)
    frame = as_item_frame(items)
    check_missing_mode(missing)
    frame = apply_missing(frame, missing)
    check_not_constant(frame)
    cov = covariance(frame, missing)
    value = alpha_from_covariance(cov)
    n, k = frame.shape
    low, high = feldt_interval(value, n, k, ci)
    sd = np.sqrt(np.diag(cov))
    std_alpha = alpha_from_covariance(cov / np.outer(sd, sd))
    return Estimate(
        value=value,
        n=n,
        ci_low=low,
        ci_high=high,
        ci_level=ci,
        method="Cronbach's alpha (Feldt CI)",
        extra={"k": k, "std_alpha": std_alpha, "missing": missing},
    )


@dataclass(frozen=True)
class OmegaResult:
    """McDonald's omega from a Schmid–Leiman solution (as ``psych::omega``)."""

    omega_total: float
    omega_hierarchical: float
    alpha: float
    n: int
    n_factors: int
    loadings: pd.DataFrame
    keys: pd.Series
    missing: str
    rotation: str = "oblimin"
    notes: tuple[str, ...] = field(default_factory=tuple)
    correlation: str = "pearson"
    omega_total_ci: tuple[float, float] | None = None
    omega_hierarchical_ci: tuple[float, float] | None = None
    ci_method: str = ""

    @property
    def general_loadings(self) -> pd.Series:
        """Loadings on the general factor g (after reflection of reversed items)."""
        return self.loadings["g"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(
            {
                "omega_total": self.omega_total,
                "omega_hierarchical": self.omega_hierarchical,
                "alpha": self.alpha,
                "n": self.n,
                "n_factors": self.n_factors,
                "rotation": self.rotation,
                "missing": self.missing,
                "keys": self.keys.to_dict(),
                "notes": list(self.notes),
                "loadings": {i: row.to_dict() for i, row in self.loadings.iterrows()},
                **({"correlation": self.correlation} if self.correlation != "pearson" else {}),
                **(
                    {
                        "omega_total_ci": list(self.omega_total_ci),
                        "omega_hierarchical_ci": list(self.omega_hierarchical_ci),
                        "ci_method": self.ci_method,
                    }
                    if self.omega_total_ci is not None
                    else {}
                ),
            }
        )


def _general_on_groups(phi: np.ndarray) -> np.ndarray:
    """Loadings of the group factors on g (second-order factor of phi)."""
    m = phi.shape[0]
    if m == 1:
        return np.ones(1)
    if m == 2:
        r = phi[0, 1]
        root = np.sqrt(abs(r))
        return np.array([root, np.sign(r) * root])
    g = extract(phi, 1)[:, 0]
    return g if g.sum() >= 0 else -g


def _omega_core(
    corr: np.ndarray, n_factors: int
) -> tuple[float, float, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """omega_t, omega_h, standardized alpha, g, group loadings, h2, keys of a correlation."""
    p = corr.shape[0]
    unrotated = extract(corr, int(n_factors))
    h2 = (unrotated**2).sum(axis=1)
    if n_factors == 1:
        pattern = unrotated if unrotated.sum() >= 0 else -unrotated
        phi = np.ones((1, 1))
    else:
        orthogonal, _ = rotate(unrotated, "varimax")
        pattern, phi = rotate(orthogonal, "oblimin")
    gload = _general_on_groups(phi)
    g = pattern @ gload
    group = np.sign(pattern) * np.sqrt(np.clip(pattern**2 * (1 - gload**2), 0.0, None))
    keys = np.where(g < 0, -1.0, 1.0)
    reflected = corr * np.outer(keys, keys)
    g, group = g * keys, group * keys[:, None]
    u2 = 1.0 - h2
    vt = reflected.sum()
    omega_h = g.sum() ** 2 / vt
    omega_t = (vt - u2.sum()) / vt
    alpha_std = (vt - p) / vt * p / (p - 1)
    return float(omega_t), float(omega_h), float(alpha_std), g, group, h2, keys


def _corr_of(frame: pd.DataFrame, missing: str, kind: str) -> np.ndarray:
    if kind == "polychoric":
        from scoring.psychometrics.polychoric import polychoric

        data = frame.dropna() if missing == "listwise" else frame
        return polychoric(data).correlations.to_numpy()
    return correlation(frame, missing)


def ordinal_alpha(items: pd.DataFrame, *, missing: str = "pairwise") -> Estimate:
    """Ordinal alpha: alpha of the polychoric correlation matrix (Zumbo, Gadermann &
    Zeisser 2007), as ``psych::alpha(polychoric(x)$rho)``. Labelled as ordinal alpha; it
    describes the latent continuous responses, not the observed sum score."""
    frame = as_item_frame(items, min_items=2)
    check_missing_mode(missing)
    frame = apply_missing(frame, missing, min_rows=frame.shape[1] + 1)
    corr = _corr_of(frame, missing, "polychoric")
    value = alpha_from_covariance(corr)
    return Estimate(
        value=value,
        n=len(frame),
        method="ordinal alpha (polychoric correlations)",
        extra={"k": frame.shape[1], "missing": missing, "correlation": "polychoric"},
    )


def omega(
    items: pd.DataFrame,
    *,
    n_factors: int = 3,
    missing: str = "listwise",
    correlation_type: str = "pearson",
    n_boot: int = 0,
    ci: float = 0.95,
    seed: int = 20061,
) -> OmegaResult:
    """Omega total and omega hierarchical (McDonald 1999; Zinbarg et al. 2005) as psych::omega.

    See the module docstring for the Schmid–Leiman steps. ``missing="pairwise"`` factors
    the pairwise-complete correlation matrix (psych's default on raw data). With too many
    factors for the items (negative degrees of freedom, e.g. 3 factors for 5 items) the
    solution is not unique and ``notes`` says so.

    ``correlation_type="polychoric"`` gives ordinal omega (``psych::omega(poly = TRUE)``),
    labelled as such. ``n_boot > 0`` adds percentile-bootstrap CIs of omega total and
    omega hierarchical (rows resampled ``n_boot`` times, ``seed`` fixed).
    """
    if correlation_type not in ("pearson", "polychoric"):
        raise ValueError(f"correlation_type must be pearson or polychoric: {correlation_type!r}")
    _check_level(ci)
    frame = as_item_frame(items, min_items=3)
    check_missing_mode(missing)
    frame = apply_missing(frame, missing, min_rows=frame.shape[1] + 1)
    check_not_constant(frame)
    p = frame.shape[1]
    if not isinstance(n_factors, (int, np.integer)) or not 1 <= n_factors < p:
        raise ValueError(f"n_factors must be an integer from 1 to {p - 1}, got {n_factors!r}")
    corr = _corr_of(frame, missing, correlation_type)
    if np.linalg.eigvalsh(corr)[0] <= 1e-10:
        raise ValueError("correlation matrix is singular or not positive definite")
    notes = []
    dof = ((p - n_factors) ** 2 - (p + n_factors)) / 2
    if dof < 0:
        notes.append(
            f"{n_factors} factors for {p} items leave negative degrees of freedom ({dof:g}): "
            "the factor solution is not unique, so omega hierarchical depends on the "
            "optimiser (it can differ from psych::omega); use fewer factors"
        )
    omega_t, omega_h, alpha_std, g, group, h2, keys = _omega_core(corr, int(n_factors))
    u2 = 1.0 - h2
    boot_t = boot_h = None
    ci_method = ""
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        values = np.empty((n_boot, 2))
        for b in range(n_boot):
            sample = frame.iloc[rng.integers(0, len(frame), len(frame))]
            try:
                c = _corr_of(sample, missing, correlation_type)
                values[b, :2] = _omega_core(c, int(n_factors))[:2]
            except (ValueError, np.linalg.LinAlgError):
                values[b] = np.nan
        ok = values[~np.isnan(values).any(axis=1)]
        tail = (1 - ci) / 2
        boot_t = tuple(float(v) for v in np.quantile(ok[:, 0], [tail, 1 - tail]))
        boot_h = tuple(float(v) for v in np.quantile(ok[:, 1], [tail, 1 - tail]))
        ci_method = f"percentile bootstrap, {len(ok)} of {n_boot} resamples, seed {seed}"
    names = [str(c) for c in frame.columns]
    table = pd.DataFrame(group, index=names, columns=[f"F{j + 1}*" for j in range(n_factors)])
    table.insert(0, "g", g)
    table["h2"], table["u2"] = h2, u2
    return OmegaResult(
        omega_total=float(omega_t),
        omega_hierarchical=float(omega_h),
        alpha=float(alpha_std),
        n=len(frame),
        n_factors=int(n_factors),
        loadings=table,
        keys=pd.Series(keys.astype(int), index=names, name="key"),
        missing=missing,
        notes=tuple(notes),
        correlation=correlation_type,
        omega_total_ci=boot_t,
        omega_hierarchical_ci=boot_h,
        ci_method=ci_method,
    )
