"""Full-information ML for the CFA model with missing data (lavaan ``missing = "ml"``).

Rows are grouped by their pattern of observed items; each pattern contributes
``n_p (log|Sigma_o| + tr(Sigma_o^-1 C_o))`` to ``-2 log L`` (constants dropped), with
``C_o`` the pattern's cross-products about the model means. The model has free
intercepts (means), so ``mu`` is a parameter vector beside the covariance structure.

* the saturated (H1) model: unrestricted mean and covariance, fitted by the same loss
  (Cholesky parameterisation);
* the model: ``Sigma = Lambda Phi Lambda' + Theta`` (factor variances 1) and ``mu``;
* the baseline: diagonal ``Sigma`` and free means, whose ML estimates are each item's
  available-case mean and variance (divisor n_j).

``chi2 = -2 (log L_model - log L_saturated)`` and the fit indices as lavaan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

LOG_2PI = float(np.log(2 * np.pi))


@dataclass
class Pattern:
    """Sufficient statistics of the rows sharing one pattern of observed items."""

    observed: np.ndarray  # indices of the observed items
    n: int
    total: np.ndarray  # sum of x_o
    cross: np.ndarray  # sum of x_o x_o'


def patterns(x: np.ndarray) -> list[Pattern]:
    """Group rows (NaN = missing) by their missing-data pattern."""
    obs = ~np.isnan(x)
    keys, inverse = np.unique(obs, axis=0, return_inverse=True)
    out = []
    for k, key in enumerate(keys):
        if not key.any():
            continue
        rows = x[inverse.ravel() == k][:, key]
        out.append(Pattern(np.flatnonzero(key), len(rows), rows.sum(axis=0), rows.T @ rows))
    return out


def loss_grad(
    sigma: np.ndarray, mu: np.ndarray, pats: list[Pattern]
) -> tuple[float, np.ndarray, np.ndarray]:
    """-2 log L (with the 2 pi constant) and its gradients wrt Sigma (full) and mu."""
    p = len(mu)
    total = 0.0
    g_sigma = np.zeros((p, p))
    g_mu = np.zeros(p)
    for pat in pats:
        o = pat.observed
        s_o = sigma[np.ix_(o, o)]
        try:
            chol = np.linalg.cholesky(s_o)
        except np.linalg.LinAlgError:
            return np.inf, g_sigma, g_mu
        inv = np.linalg.inv(s_o)
        m = mu[o]
        c = pat.cross - np.outer(pat.total, m) - np.outer(m, pat.total) + pat.n * np.outer(m, m)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        total += pat.n * (logdet + len(o) * LOG_2PI) + float(np.sum(inv * c))
        w = pat.n * inv - inv @ c @ inv
        g_sigma[np.ix_(o, o)] += w
        g_mu[o] += -2.0 * inv @ (pat.total - pat.n * m)
    return total, g_sigma, g_mu


def saturated(x: np.ndarray, pats: list[Pattern]) -> tuple[np.ndarray, np.ndarray, float]:
    """ML (EM-free, direct) estimates of the unrestricted mean and covariance."""
    p = x.shape[1]
    mu0 = np.nanmean(x, axis=0)
    frame_cov = _pairwise_cov(x)
    vals, vecs = np.linalg.eigh(frame_cov)
    start_cov = (vecs * np.maximum(vals, 1e-3 * vals.max())) @ vecs.T
    low = np.tril_indices(p)
    chol0 = np.linalg.cholesky(start_cov)

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lower = np.zeros((p, p))
        lower[low] = theta[p:]
        return theta[:p], lower

    n = sum(pat.n for pat in pats)

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mu, lower = unpack(theta)
        f, gs, gm = loss_grad(lower @ lower.T, mu, pats)
        if not np.isfinite(f):
            return 1e10, np.zeros_like(theta)
        g_lower = 2.0 * gs @ lower
        return f / n, np.concatenate([gm, g_lower[low]]) / n

    theta0 = np.concatenate([mu0, chol0[low]])
    res = minimize(fun, theta0)
    mu, lower = unpack(res.x)
    return mu, lower @ lower.T, float(res.fun) * n


def _pairwise_cov(x: np.ndarray) -> np.ndarray:
    p = x.shape[1]
    out = np.empty((p, p))
    for i in range(p):
        for j in range(i, p):
            ok = ~np.isnan(x[:, i]) & ~np.isnan(x[:, j])
            a, b = x[ok, i], x[ok, j]
            out[i, j] = out[j, i] = np.mean((a - a.mean()) * (b - b.mean())) if ok.sum() else 0.0
    return out


def baseline(x: np.ndarray) -> float:
    """-2 log L of the independence model (available-case ML mean and variance per item)."""
    total = 0.0
    for j in range(x.shape[1]):
        v = x[~np.isnan(x[:, j]), j]
        var = v.var()
        total += len(v) * (np.log(var) + LOG_2PI + 1.0)
    return float(total)


def minimize(fun: Callable, x0: np.ndarray) -> optimize.OptimizeResult:
    """L-BFGS with the tolerances used throughout the CFA code."""
    return optimize.minimize(
        fun,
        x0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 30},
    )
