"""Ordinal CFA: DWLS on polychoric correlations with robust (WLSMV) inference, as lavaan.

Steps (lavaan ``cfa(..., ordered = TRUE)``, estimator ``WLSMV``, ``parameterization =
"delta"``; Muthén 1984; Muthén, du Toit & Spisic 1997; Asparouhov & Muthén 2010):

1. Thresholds and polychoric correlations by two-step ML (``polychoric.py``).
2. Their asymptotic covariance ``Gamma`` (N times the covariance of the estimates) from
   the casewise scores, exactly as lavaan's ``muthen1984``: ``A11`` = cross-products of
   the univariate threshold scores (per item), ``A21`` = cross-products of the pair's
   correlation score with its bivariate threshold scores, ``A22`` = sum of squared
   correlation scores, ``B`` = cross-products of all scores; ``Gamma = N A^-1 B A^-T``.
3. DWLS: minimise ``(s - sigma(theta))' W (s - sigma(theta))`` with ``W = diag(Gamma)^-1``;
   the model-implied correlations are ``Lambda Phi Lambda' + Theta`` with unit diagonal
   (delta parameterisation), thresholds are free (so they equal the sample thresholds).
4. ``chi2 = (N - 1) F`` (lavaan's factor for the WLS family); robust standard errors from
   the sandwich
   ``(D'WD)^-1 D'W Gamma W D (D'WD)^-1 / N``; the scaled-and-shifted statistic
   ``a chi2 + b`` with ``a = sqrt(df / tr((U Gamma)^2))``, ``b = df - a tr(U Gamma)``,
   ``U = W - W D (D'WD)^-1 D'W`` (lavaan's ``test = "scaled.shifted"``). The baseline
   (independence) model has all correlations 0; CFI/TLI/RMSEA use the standard statistics,
   their ``_scaled`` versions the scaled-shifted ones (lavaan's ``cfi.scaled`` etc.).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from scoring.psychometrics.polychoric import (
    _BIG,
    _Coded,
    _padded_bounds,
    cell_density_diff,
    cell_probabilities,
    pair_tables,
    solve_rho,
    thresholds_from_codes,
)


def lavaan_pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs in lavaan's order (vech of the lower triangle without the diagonal, by column)."""
    rows, cols = [], []
    for j in range(p):
        for i in range(j + 1, p):
            rows.append(i)
            cols.append(j)
    return np.array(rows, dtype=int), np.array(cols, dtype=int)


@dataclass
class OrdinalStats:
    """Sample statistics of complete ordinal data: thresholds, polychorics and Gamma."""

    n: int
    thresholds: list[np.ndarray]
    corr: np.ndarray
    gamma: np.ndarray  # N * acov of (thresholds..., correlations in lavaan order)
    n_thresholds: int

    @property
    def rho_vector(self) -> np.ndarray:
        ii, jj = lavaan_pairs(self.corr.shape[0])
        return self.corr[ii, jj]

    @property
    def tau_vector(self) -> np.ndarray:
        return np.concatenate(self.thresholds)


def _univariate_scores(coded: _Coded, taus: list[np.ndarray]) -> list[np.ndarray]:
    """Per item, score d log P(category) / d tau for each category: (K, K-1)."""
    out = []
    for tau in taus:
        k = len(tau) + 1
        bounds = np.concatenate([[-np.inf], tau, [np.inf]])
        prob = special.ndtr(bounds[1:]) - special.ndtr(bounds[:-1])
        dens = np.exp(-0.5 * tau * tau) / np.sqrt(2 * np.pi)
        u = np.zeros((k, k - 1))
        for t in range(k - 1):
            u[t, t] = dens[t] / prob[t]
            u[t + 1, t] = -dens[t] / prob[t + 1]
        out.append(u)
    return out


def _threshold_gradients(ha: np.ndarray, hb: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """g[m, t, d] = phi(a_t) [Phi((b_{d+1} - rho a_t)/s) - Phi((b_d - rho a_t)/s)].

    ha: (m, Ka+1) bounds of the first item (interior thresholds a_1..), hb: (m, Kb+1).
    Returns (m, Ka-1, Kb): d P(cell c, d) / d a_t = g[t, d] ([t == c] - [t == c - 1]).
    """
    a = ha[:, 1:-1]
    s = np.sqrt(1.0 - rho * rho)[:, None, None]
    z = (hb[:, None, :] - rho[:, None, None] * a[:, :, None]) / s
    bound = hb[:, None, :]
    z = np.where(bound >= _BIG, np.inf, np.where(bound <= -_BIG, -np.inf, z))
    cdf = special.ndtr(z)
    dens = np.where(np.abs(a) >= _BIG, 0.0, np.exp(-0.5 * a * a) / np.sqrt(2 * np.pi))
    return dens[:, :, None] * (cdf[:, :, 1:] - cdf[:, :, :-1])


def ordinal_stats(coded: _Coded) -> OrdinalStats:
    """Thresholds, polychoric correlations and their NACOV (lavaan's muthen1984)."""
    codes = coded.codes
    if (codes < 0).any():
        raise ValueError("ordinal_stats needs complete rows")
    n, p = codes.shape
    taus = thresholds_from_codes(coded)
    kmax = int(coded.n_cat.max())
    tabs = pair_tables(coded, kmax)
    bounds = _padded_bounds(taus, kmax)
    ii, jj = lavaan_pairs(p)
    m = len(ii)
    t = tabs[ii, jj]
    hb_i, hb_j = bounds[ii], bounds[jj]
    rho = solve_rho(t, hb_i, hb_j)
    corr = np.eye(p)
    corr[ii, jj] = rho
    corr[jj, ii] = rho

    # correlation scores per cell, and A21 / A22 from the tables
    prob = cell_probabilities(hb_i, hb_j, rho)
    dprob = cell_density_diff(hb_i, hb_j, rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_rho = np.where(t > 0, dprob / np.maximum(prob, 1e-300), 0.0)
        q = np.where(t > 0, t * s_rho / np.maximum(prob, 1e-300), 0.0)
    g_i = _threshold_gradients(hb_i, hb_j, rho)  # (m, K-1, K): item i thresholds
    g_j = _threshold_gradients(hb_j, hb_i, rho)  # (m, K-1, K): item j thresholds
    # A21 for item i's threshold t: sum_d g_i[t, d] (q[t, d] - q[t+1, d])
    a21_i = np.einsum("mtd,mtd->mt", g_i, q[:, :-1, :] - q[:, 1:, :])
    qt = q.transpose(0, 2, 1)
    a21_j = np.einsum("mtc,mtc->mt", g_j, qt[:, :-1, :] - qt[:, 1:, :])
    a22 = (t * s_rho * s_rho).sum(axis=(1, 2))

    # threshold offsets in the stacked vector
    n_th = coded.n_cat - 1
    start = np.concatenate([[0], np.cumsum(n_th)[:-1]])
    n_thr = int(n_th.sum())
    a21 = np.zeros((m, n_thr))
    for k in range(m):
        a21[k, start[ii[k]] : start[ii[k]] + n_th[ii[k]]] = a21_i[k, : n_th[ii[k]]]
        a21[k, start[jj[k]] : start[jj[k]] + n_th[jj[k]]] = a21_j[k, : n_th[jj[k]]]

    # Casewise influence functions. Each column depends on the categories of one item
    # (thresholds) or two items (correlations), so they are tables looked up per row:
    # IF_tau = u A11^-1 (per category); IF_rho = (s_rho - A21 IF_tau) / A22 (per cell).
    uni = _univariate_scores(coded, taus)
    blocks = []
    for j in range(p):
        u = uni[j]
        counts = np.bincount(codes[:, j], minlength=u.shape[0]).astype(float)
        a11 = (u.T * counts) @ u
        blocks.append(u @ np.linalg.inv(a11))  # (K, K-1): IF of the thresholds per category
    tau_table = np.zeros((p, kmax, n_thr))
    for j in range(p):
        tau_table[j, : coded.n_cat[j], start[j] : start[j] + n_th[j]] = blocks[j]
    # (m, K) contributions of each item's threshold IF to the pair's correlation IF
    t_i = np.einsum("mct,mt->mc", tau_table[ii], a21)
    t_j = np.einsum("mct,mt->mc", tau_table[jj], a21)
    cell_if = (s_rho - t_i[:, :, None] - t_j[:, None, :]) / a22[:, None, None]
    cell_flat = cell_if.reshape(m, kmax * kmax).T  # (K*K, m)
    gamma = np.zeros((n_thr + m, n_thr + m))
    chunk = max(1, 4_000_000 // max(n_thr + m, 1))
    for lo in range(0, n, chunk):
        c = codes[lo : lo + chunk]
        infl_tau = np.zeros((len(c), n_thr))
        for j in range(p):
            infl_tau[:, start[j] : start[j] + n_th[j]] = blocks[j][c[:, j]]
        cell = c[:, ii] * kmax + c[:, jj]
        infl_rho = np.take_along_axis(cell_flat, cell, axis=0)
        infl = np.hstack([infl_tau, infl_rho])
        gamma += infl.T @ infl
    gamma *= n
    return OrdinalStats(n=n, thresholds=taus, corr=corr, gamma=gamma, n_thresholds=n_thr)


@dataclass
class DWLSFit:
    """Estimates and robust inference of an ordinal CFA."""

    lam: np.ndarray
    phi: np.ndarray
    resid_cov: np.ndarray  # free residual covariances (values, in the order given)
    implied: np.ndarray
    chi2: float
    df: int
    chi2_scaled: float
    scaling_factor: float
    shift: float
    baseline_chi2: float
    baseline_df: int
    baseline_chi2_scaled: float
    se: np.ndarray  # robust SEs of (loadings, factor correlations, residual covariances)
    converged: bool
    message: str
    jac_rho: np.ndarray | None = None  # d correlations / d (loadings, correlations, rc)


def _scaled_shifted(
    delta: np.ndarray, w: np.ndarray, gamma: np.ndarray, df: int
) -> tuple[float, float]:
    """lavaan's scaled.shifted a and b from Delta, the diagonal weights w and Gamma."""
    wd = delta * w[:, None]
    inv = np.linalg.inv(delta.T @ wd)
    u = np.diag(w) - wd @ inv @ wd.T
    ug = u @ gamma
    tr1 = float(np.trace(ug))
    tr2 = float(np.sum(ug * ug.T))
    a = np.sqrt(df / tr2)
    return float(a), float(df - a * tr1)


def fit_dwls(
    st: OrdinalStats,
    pattern: np.ndarray,
    resid_pairs: list[tuple[int, int]],
    start: np.ndarray,
) -> DWLSFit:
    """DWLS fit of the correlated-factors model (factor variances 1) on ordinal stats."""
    p, mfac = pattern.shape
    ii, jj = lavaan_pairs(p)
    r = st.rho_vector
    w_all = 1.0 / np.diag(st.gamma)
    w = w_all[st.n_thresholds :]
    sw = np.sqrt(w)
    load_idx = np.nonzero(pattern)
    n_load = len(load_idx[0])
    phi_idx = np.tril_indices(mfac, -1)
    n_phi = len(phi_idx[0])
    pair_pos = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(ii, jj, strict=True))}
    rc_pos = np.array([pair_pos[(max(a, b), min(a, b))] for a, b in resid_pairs], dtype=int)
    n_rc = len(resid_pairs)

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lam = np.zeros((p, mfac))
        lam[load_idx] = x[:n_load]
        phi = np.eye(mfac)
        phi[phi_idx] = x[n_load : n_load + n_phi]
        phi = phi + np.tril(phi, -1).T
        return lam, phi, x[n_load + n_phi :]

    def implied(x: np.ndarray) -> np.ndarray:
        lam, phi, rc = unpack(x)
        sig = lam @ phi @ lam.T
        out = sig[ii, jj].copy()
        out[rc_pos] += rc
        return out

    def jac(x: np.ndarray) -> np.ndarray:
        lam, phi, _ = unpack(x)
        lp = lam @ phi  # (p, m)
        cols = []
        for i, a in zip(*load_idx, strict=True):
            d = np.zeros(len(ii))
            d += np.where(ii == i, lp[jj, a], 0.0)
            d += np.where(jj == i, lp[ii, a], 0.0)
            cols.append(d)
        for a, b in zip(*phi_idx, strict=True):
            cols.append(lam[ii, a] * lam[jj, b] + lam[ii, b] * lam[jj, a])
        for k in rc_pos:
            d = np.zeros(len(ii))
            d[k] = 1.0
            cols.append(d)
        return np.column_stack(cols) if cols else np.zeros((len(ii), 0))

    x0 = np.concatenate([start, np.zeros(n_rc)])
    res = optimize.least_squares(
        lambda x: sw * (r - implied(x)),
        x0,
        jac=lambda x: -sw[:, None] * jac(x),
        method="lm",
        xtol=1e-14,
        ftol=1e-14,
        gtol=1e-14,
        max_nfev=20000,
    )
    x = res.x
    lam, phi, rc = unpack(x)
    flip = np.where(lam.sum(axis=0) < 0, -1.0, 1.0)
    x[:n_load] = (lam * flip)[load_idx]
    lam, phi, rc = unpack(np.concatenate([x[:n_load], (phi * np.outer(flip, flip))[phi_idx], rc]))
    x = np.concatenate([lam[load_idx], phi[phi_idx], rc])
    sigma_r = implied(x)
    n = st.n
    # lavaan: T = 2 (N - 1) f_WLS for the WLS family (f = F / 2), N only for ML
    chi2 = float((n - 1) * np.sum(w * (r - sigma_r) ** 2))
    n_pairs = len(ii)
    df = n_pairs - (n_load + n_phi + n_rc)

    # Delta over all sample statistics: thresholds (identity) then correlations
    nt = st.n_thresholds
    jm = jac(x)
    q = jm.shape[1]
    delta = np.zeros((nt + n_pairs, nt + q))
    delta[:nt, :nt] = np.eye(nt)
    delta[nt:, nt:] = jm
    gamma = st.gamma
    if df > 0:
        a, b = _scaled_shifted(delta, w_all, gamma, df)
    else:
        a, b = np.nan, np.nan
    wd = delta * w_all[:, None]
    bread = np.linalg.inv(delta.T @ wd)
    meat = wd.T @ gamma @ wd
    vcov = bread @ meat @ bread / n
    se = np.sqrt(np.clip(np.diag(vcov)[nt:], 0.0, None))

    base_chi2 = float((n - 1) * np.sum(w * r * r))
    base_delta = np.zeros((nt + n_pairs, nt))
    base_delta[:nt, :nt] = np.eye(nt)
    ab, bb = _scaled_shifted(base_delta, w_all, gamma, n_pairs)
    full = lam @ phi @ lam.T
    full[ii, jj] = sigma_r
    full[jj, ii] = sigma_r
    np.fill_diagonal(full, 1.0)
    return DWLSFit(
        lam=lam,
        phi=phi,
        resid_cov=rc,
        implied=full,
        chi2=chi2,
        df=int(df),
        chi2_scaled=float(a * chi2 + b) if df > 0 else np.nan,
        scaling_factor=float(1.0 / a) if df > 0 else np.nan,
        shift=float(b),
        baseline_chi2=base_chi2,
        baseline_df=int(n_pairs),
        baseline_chi2_scaled=float(ab * base_chi2 + bb),
        se=se,
        converged=bool(res.success),
        message=str(res.message),
        jac_rho=jm,
    )


def catml_robust(
    st: OrdinalStats, implied: np.ndarray, jac_rho: np.ndarray, df: int
) -> tuple[float, float, float]:
    """lavaan 0.6-14's ``cfi.robust``, ``tli.robust`` and ``rmsea.robust`` for WLSMV.

    The catML approach (Savalei 2021; lavaan ``lav_fit_catml_dwls``): ``T = N F_ML(R,
    Sigma)`` at the DWLS estimates on the polychoric matrix R, baseline ``-N log|R|``;
    ``c = tr(M' V M Gamma_rho) / df`` with ``M = I - D (D'WD)^-1 D'W`` (correlation rows,
    DWLS weights W) and ``V`` the ML weight of the correlations at Sigma; the baseline's
    ``c0 = tr(Gamma_rho) / df0``. RMSEA ``sqrt(max(T / (N - 1) / df - c / (N - 1), 0))``,
    CFI ``1 - max(T - c df, 0) / max(T - c df, T0 - c0 df0, 0)``, TLI ``1 - ((T - c df) /
    df) / ((T0 - c0 df0) / df0)``.
    """
    r = st.corr
    p = r.shape[0]
    n = st.n
    nt = st.n_thresholds
    inv = np.linalg.inv(implied)
    f_ml = np.linalg.slogdet(implied)[1] + float(np.sum(r * inv)) - np.linalg.slogdet(r)[1] - p
    t = n * f_ml
    t0 = -n * np.linalg.slogdet(r)[1]
    ii, jj = lavaan_pairs(p)
    df0 = len(ii)
    v = inv[ii][:, ii] * inv[jj][:, jj] + inv[ii][:, jj] * inv[jj][:, ii]
    gamma = st.gamma[nt:, nt:]
    w = 1.0 / np.diag(st.gamma)[nt:]
    e_inv = np.linalg.inv(jac_rho.T @ (jac_rho * w[:, None]))
    m = np.eye(df0) - jac_rho @ e_inv @ (jac_rho * w[:, None]).T
    c = float(np.sum((m.T @ v @ m) * gamma.T)) / df
    c0 = float(np.trace(gamma)) / df0
    num = max(t - c * df, 0.0)
    denom = max(num, t0 - c0 * df0, 0.0)
    cfi = 1.0 if denom == 0 else 1.0 - num / denom
    tli = 1.0 - ((t - c * df) / df) / ((t0 - c0 * df0) / df0)
    rmsea = float(np.sqrt(max(t / (n - 1) / df - c / (n - 1), 0.0)))
    return float(cfi), float(tli), rmsea
