"""Robust ML (lavaan ``estimator = "MLR"``): Yuan–Bentler (Mplus) scaled chi-square.

For complete data the scaling factor is ``c = [tr(A1^-1 B1) - tr(E^-1 D'B1 D)] / df``
(Yuan & Bentler 2000; the Mplus variant, lavaan's ``yuan.bentler.mplus``): the h1 trace
with the unrestricted information and first-order information at the sample covariance,
the h0 trace with the model's observed (Hessian) information ``E`` per case and ``B1``
(mean outer product of the casewise scores) at the model-implied covariance; ``D`` is the
Jacobian of vech Sigma in the free parameters. Means are saturated and cancel, so (as
lavaan's MLR output for complete data) no mean structure enters. The baseline
(independence) model gets its own factor. Robust SEs: ``E^-1 J E^-1 / N`` with
``J = D'B1 D`` (lavaan's ``robust.huber.white``).
Robust CFI/TLI (Brosseau-Liard & Savalei 2014) and RMSEA (Brosseau-Liard, Savalei & Li
2012) use the unscaled statistics and the scaling factors, as lavaan's ``*.robust``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def duplication(p: int) -> np.ndarray:
    """Duplication matrix D (vec = D vech, vech over the lower triangle by column)."""
    rows, cols = np.triu_indices(p)  # column-major lower triangle = row-major upper
    pairs = list(zip(cols, rows, strict=True))  # (i >= j) in lavaan's vech order
    pairs = sorted(pairs, key=lambda ij: (ij[1], ij[0]))
    d = np.zeros((p * p, len(pairs)))
    for k, (i, j) in enumerate(pairs):
        d[i + j * p, k] = 1.0
        d[j + i * p, k] = 1.0
    return d


def vech(m: np.ndarray) -> np.ndarray:
    p = m.shape[0]
    return np.concatenate([m[j:, j] for j in range(p)])


def _h1_information(sigma: np.ndarray, dup: np.ndarray) -> np.ndarray:
    """Unrestricted (h1) information per case in vech Sigma, at Sigma = S (exact there)."""
    inv = np.linalg.inv(sigma)
    return 0.5 * dup.T @ np.kron(inv, inv) @ dup


def _h1_first_order(sigma: np.ndarray, dev: np.ndarray, dup: np.ndarray) -> np.ndarray:
    """Mean outer product of the casewise scores d log f / d vech Sigma at ``sigma``."""
    inv = np.linalg.inv(sigma)
    z = dev @ inv  # rows: Sigma^-1 d_i
    p = sigma.shape[0]
    outer = 0.5 * (z[:, :, None] * z[:, None, :] - inv[None, :, :])  # (n, p, p)
    scores = outer.reshape(len(dev), p * p) @ dup
    return scores.T @ scores / len(dev)


def mlr_terms(
    x: np.ndarray, sigma: np.ndarray, jac_sigma: np.ndarray, info: np.ndarray, df: int
) -> tuple[float, np.ndarray]:
    """Scaling factor and the first-order model information ``J = D' B1 D``.

    As lavaan 0.6-14 (``yuan.bentler.mplus``, complete data, no mean structure):
    ``tr(h1) = tr(A1^-1 B1)`` with both at the sample covariance (unrestricted), ``tr(h0)
    = tr(E^-1 D' B1 D)`` with ``B1`` at the model-implied ``Sigma`` and ``E`` = ``info``,
    the observed (Hessian) information of the model per case.
    """
    n, p = x.shape
    dup = duplication(p)
    dev = x - x.mean(axis=0)
    s = dev.T @ dev / n
    tr_h1 = float(np.trace(np.linalg.solve(_h1_information(s, dup), _h1_first_order(s, dev, dup))))
    b1 = _h1_first_order(sigma, dev, dup)
    j = jac_sigma.T @ b1 @ jac_sigma
    tr_h0 = float(np.trace(np.linalg.solve(info, j)))
    return (tr_h1 - tr_h0) / df, j


def numeric_jacobian(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of vech(fn(x))."""
    cols = []
    for k in range(len(x)):
        h = 1e-6 * max(1.0, abs(x[k]))
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        cols.append((vech(fn(up)) - vech(fn(down))) / (2 * h))
    return np.column_stack(cols)


def baseline_scaling_factor(x: np.ndarray) -> float:
    """Scaling factor of the independence model (free variances)."""
    n, p = x.shape
    var = x.var(axis=0)
    pstar = p * (p + 1) // 2
    jac = np.zeros((pstar, p))
    k = 0
    for j in range(p):
        jac[k, j] = 1.0  # vech position of (j, j)
        k += p - j
    info = np.diag(0.5 / var**2)  # observed = expected at the ML variances
    return mlr_terms(x, np.diag(var), jac, info, p * (p - 1) // 2)[0]


def hessian_half(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Half the Hessian of F_ML (the observed information per case) from its gradient."""
    q = len(x)
    h_mat = np.zeros((q, q))
    for k in range(q):
        h = 1e-5 * max(1.0, abs(x[k]))
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        h_mat[:, k] = (grad(up) - grad(down)) / (2 * h)
    return 0.25 * (h_mat + h_mat.T)


def robust_indices(
    chi2: float, df: int, c: float, base_chi2: float, base_df: int, c_base: float, n: int
) -> dict[str, float]:
    """lavaan's cfi.robust, tli.robust, rmsea.robust."""
    t1 = max(chi2 - df * c, 0.0)
    t2 = max(chi2 - df * c, base_chi2 - base_df * c_base, 0.0)
    cfi = 1.0 if t2 == 0 else 1.0 - t1 / t2
    tli = 1.0 - ((chi2 - c * df) / df) / ((base_chi2 - c_base * base_df) / base_df)
    rmsea = float(np.sqrt(max(chi2 / (n * df) - c / n, 0.0)))
    return {"cfi_robust": float(cfi), "tli_robust": float(tli), "rmsea_robust": rmsea}
