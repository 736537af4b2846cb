"""Maximum-likelihood factor extraction with several starts, as psych::fa(fm = "ml").

The objective is the concentrated ML discrepancy of a correlation matrix ``R`` in the
uniquenesses ``psi`` (Jöreskog 1967; R's ``factanal``, psych's ``fit.ml``):
``F(psi) = -sum_{k > m} (log e_k - e_k) + m - p``, ``e`` the eigenvalues of
``psi^-1/2 R psi^-1/2``, minimised by L-BFGS-B with bounds [0.005, 1] and the analytic
gradient. psych starts once from ``(1 - m / (2p)) / diag(R^-1)``; a single start can end in
a worse local optimum, so openprom also starts from ``1 - SMC``, from 0.5 and from
seeded random uniquenesses, and keeps the solution with the smallest ``F``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

LOWER, UPPER = 0.005, 1.0


def _objective(psi: np.ndarray, corr: np.ndarray, m: int) -> tuple[float, np.ndarray]:
    sc = 1.0 / np.sqrt(psi)
    star = corr * np.outer(sc, sc)
    vals, vecs = np.linalg.eigh(star)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    rest = vals[m:]
    f = -float(np.sum(np.log(rest) - rest)) + m - corr.shape[0]
    load = vecs[:, :m] * np.sqrt(np.maximum(vals[:m] - 1.0, 0.0))
    load = load * np.sqrt(psi)[:, None]
    g = load @ load.T + np.diag(psi) - corr
    return f, np.diag(g) / psi**2


def loadings_from_psi(psi: np.ndarray, corr: np.ndarray, m: int) -> np.ndarray:
    """Unrotated ML loadings implied by the uniquenesses."""
    sc = 1.0 / np.sqrt(psi)
    vals, vecs = np.linalg.eigh(corr * np.outer(sc, sc))
    vals, vecs = vals[::-1], vecs[:, ::-1]
    load = vecs[:, :m] * np.sqrt(np.maximum(vals[:m] - 1.0, 0.0))
    return load * np.sqrt(psi)[:, None]


def ml_extract(
    corr: np.ndarray, m: int, *, n_random: int = 8, seed: int = 0
) -> tuple[np.ndarray, float, int]:
    """Best-of-several-starts ML loadings; returns (loadings, objective, starts tried)."""
    p = corr.shape[0]
    inv_diag = np.diag(np.linalg.inv(corr))
    starts = [
        (1.0 - 0.5 * m / p) / inv_diag,  # psych / factanal
        1.0 / inv_diag,  # 1 - SMC
        np.full(p, 0.5),
    ]
    rng = np.random.default_rng(seed)
    starts += [rng.uniform(0.05, 0.95, p) for _ in range(n_random)]
    best_f, best_psi = np.inf, None
    for s in starts:
        res = optimize.minimize(
            _objective,
            np.clip(s, LOWER, UPPER),
            args=(corr, m),
            jac=True,
            method="L-BFGS-B",
            bounds=[(LOWER, UPPER)] * p,
            options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000},
        )
        if res.fun < best_f - 1e-12:
            best_f, best_psi = float(res.fun), res.x
    return loadings_from_psi(best_psi, corr, m), best_f, len(starts)
