"""REML variance components for the ICC with incomplete subjects (psych::ICC(lmer = TRUE)).

Model (lme4 ``values ~ 1 + (1 | id) + (1 | items)``): ``y_ij = mu + a_i + b_j + e_ij``
with crossed random subject and rater effects, fitted by REML on every observed value
(subjects with missing occasions stay in). The marginal covariance
``V = D + sigma_b^2 Z Z'`` with ``D = blockdiag(sigma_e^2 I + sigma_a^2 J)`` is inverted by
Woodbury's identity from per-subject sums, so no N x N matrix is formed. As psych, the
components give pseudo mean squares ``MSB = k s_a^2 + s_e^2``, ``MSJ = n s_b^2 + s_e^2``,
``MSE = s_e^2``, ``MSW = s_e^2 + s_b^2`` (n = subjects, k = raters) for the usual ICC
formulas and F-based intervals.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from scoring.psychometrics.agreement import MeanSquares


def _neg2_reml(log_sd: np.ndarray, obs: np.ndarray, y: np.ndarray) -> float:
    s_a2, s_b2, s_e2 = np.exp(2.0 * log_sd)
    n_i = obs.sum(axis=1)
    sum_y = y.sum(axis=1)
    sum_y2 = (y * y).sum(axis=1)
    c = s_a2 / (s_e2 + n_i * s_a2)
    # D^-1 quadratic forms (per subject: (u - c (1'u) 1) / s_e2), summed
    one_one = np.sum(n_i - c * n_i**2) / s_e2
    y_y = np.sum(sum_y2 - c * sum_y**2) / s_e2
    one_y = np.sum(sum_y - c * n_i * sum_y) / s_e2
    z_z = (np.diag(obs.sum(axis=0)) - (obs * c[:, None]).T @ obs) / s_e2
    z_y = (y.sum(axis=0) - (obs * (c * sum_y)[:, None]).sum(axis=0)) / s_e2
    z_one = (obs.sum(axis=0) - (obs * (c * n_i)[:, None]).sum(axis=0)) / s_e2
    k = obs.shape[1]
    m = np.eye(k) / s_b2 + z_z
    try:
        chol = np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        return np.inf
    sol_y = np.linalg.solve(m, z_y)
    sol_one = np.linalg.solve(m, z_one)
    vy_y = y_y - z_y @ sol_y
    v1_1 = one_one - z_one @ sol_one
    v1_y = one_y - z_one @ sol_y
    logdet_d = np.sum((n_i - 1) * np.log(s_e2) + np.log(s_e2 + n_i * s_a2))
    logdet_v = logdet_d + k * np.log(s_b2) + 2.0 * np.log(np.diag(chol)).sum()
    quad = vy_y - v1_y**2 / v1_1
    return float(logdet_v + np.log(v1_1) + quad)


def reml_components(values: np.ndarray) -> tuple[float, float, float]:
    """REML (subject, rater, residual) variances of an n x k table with NaN for missing."""
    obs = ~np.isnan(values)
    y = np.where(obs, values, 0.0)
    obs_f = obs.astype(float)
    # start from the complete-row ANOVA-type moments
    resid = np.nanvar(values - np.nanmean(values, axis=1, keepdims=True))
    start = np.log(
        np.sqrt(
            np.maximum(
                [
                    np.nanvar(np.nanmean(values, axis=1)),
                    np.nanvar(np.nanmean(values, axis=0)) + 1e-3,
                    resid,
                ],
                1e-6,
            )
        )
    )
    res = optimize.minimize(
        _neg2_reml,
        start,
        args=(obs_f, y),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000},
    )
    res = optimize.minimize(
        _neg2_reml, res.x, args=(obs_f, y), method="BFGS", options={"gtol": 1e-9}
    )
    s_a2, s_b2, s_e2 = np.exp(2.0 * res.x)
    return float(s_a2), float(s_b2), float(s_e2)


def reml_mean_squares(values: np.ndarray) -> tuple[MeanSquares, tuple[float, float, float]]:
    """psych's lmer pseudo mean squares and the variance components."""
    n, k = values.shape
    s_a2, s_b2, s_e2 = reml_components(values)
    ms = MeanSquares(msb=k * s_a2 + s_e2, msj=n * s_b2 + s_e2, mse=s_e2, msw=s_e2 + s_b2, n=n, k=k)
    return ms, (s_a2, s_b2, s_e2)
