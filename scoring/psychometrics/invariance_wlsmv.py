"""Measurement invariance of ordinal items: multi-group WLSMV CFA as lavaan.

lavaan 0.6-14 ``cfa(model, data, ordered = items, group = g, std.lv = TRUE, group.equal =
...)`` with its defaults (``estimator = "WLSMV"``, ``parameterization = "delta"``):

* ``configural``: per group free loadings, factor correlations and thresholds; factor
  variances 1, factor means 0, scale factors 1 in every group;
* ``metric`` (``group.equal = "loadings"``): loadings equal; factor variances free in
  groups 2..G; thresholds free per group; scale factors 1;
* ``scalar`` (``+ "thresholds"``): thresholds equal; scale factors (``~*~``) and factor
  means free in groups 2..G.

Group g's model-implied sample statistics (its thresholds, then its polychoric
correlations in lavaan's order) are ``delta_j (tau_jk - (Lambda alpha)_j)`` and
``delta_i delta_j (Lambda Phi Lambda')_ij``. Estimation is DWLS with each group's own
diagonal weights ``W_g = diag(Gamma_g)^-1``, minimising ``sum_g (N_g - 1) F_g``; the
statistic is ``T = sum_g (N_g - 1) F_g`` (lavaan's WLS family). The scaled-shifted test
uses ``U = V - V D (D'VD)^-1 D'V`` with ``V = bdiag(f_g W_g)``, ``Gamma = bdiag(Gamma_g /
f_g)``, ``f_g = N_g / N`` (lavaan ``lav_test_satorra_bentler``). The difference test is
lavaan's ``lavTestLRT`` default for WLSMV, ``method = "satorra.2000"`` (scaled and shifted,
``A.method = "delta"``, H1 = the less restricted model): ``A`` is the orthogonal
complement of ``H = D_1^+ D_0``; ``T_d = a (T_0 - T_1) + b`` from the traces of ``W D_1
P^-1 A' (A P^-1 A')^+ A P^-1 D_1' W bdiag(f_g Gamma_g)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, stats

from scoring.psychometrics.polychoric import _Coded, code_items
from scoring.psychometrics.wlsmv import OrdinalStats, lavaan_pairs, ordinal_stats

WLSMV_LEVELS = ("configural", "metric", "scalar")


@dataclass
class GroupLayout:
    """Where each group's parameters sit in the free vector (-1 = fixed)."""

    load: np.ndarray  # (n_load,)
    phi: np.ndarray  # (m(m+1)/2,) lower triangle incl. diagonal
    tau: np.ndarray  # (n_thresholds,)
    delta: np.ndarray  # (p,)
    alpha: np.ndarray  # (m,)


@dataclass
class LevelFit:
    """One fitted invariance model."""

    level: str
    x: np.ndarray
    chi2: float
    df: int
    chi2_scaled: float
    scaling_factor: float
    shift: float
    delta_matrix: np.ndarray  # stacked over groups, columns = free parameters
    converged: bool
    message: str


class MultiGroupOrdinal:
    """Parameter layout, model-implied statistics and their Jacobian for one level."""

    def __init__(self, stats_g: list[OrdinalStats], pattern: np.ndarray, level: str):
        self.stats_g = stats_g
        self.g = len(stats_g)
        self.p, self.m = pattern.shape
        self.load_pos = np.nonzero(pattern)
        self.n_load = len(self.load_pos[0])
        self.tri = np.tril_indices(self.m)
        self.diag = self.tri[0] == self.tri[1]
        self.nt = stats_g[0].n_thresholds
        self.ii, self.jj = lavaan_pairs(self.p)
        sizes = [len(t) for t in stats_g[0].thresholds]
        self.item_of_tau = np.repeat(np.arange(self.p), sizes)
        rank = WLSMV_LEVELS.index(level)
        eq_load, eq_tau = rank >= 1, rank >= 2
        n = 0

        def new(count: int) -> np.ndarray:
            nonlocal n
            idx = np.arange(n, n + count)
            n += count
            return idx

        shared_load = new(self.n_load) if eq_load else None
        shared_tau = new(self.nt) if eq_tau else None
        self.layout: list[GroupLayout] = []
        for k in range(self.g):
            phi = np.full(len(self.tri[0]), -1)
            phi[~self.diag] = new(int((~self.diag).sum()))
            if eq_load and k > 0:
                phi[self.diag] = new(self.m)
            free_scale = eq_tau and k > 0
            self.layout.append(
                GroupLayout(
                    load=shared_load if shared_load is not None else new(self.n_load),
                    phi=phi,
                    tau=shared_tau if shared_tau is not None else new(self.nt),
                    delta=new(self.p) if free_scale else np.full(self.p, -1),
                    alpha=new(self.m) if free_scale else np.full(self.m, -1),
                )
            )
        self.n_par = n
        self.sample = [np.concatenate([s.tau_vector, s.rho_vector]) for s in stats_g]
        self.weights = [1.0 / np.diag(s.gamma) for s in stats_g]
        self.n_g = np.array([s.n for s in stats_g], dtype=float)

    def group_values(self, x: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
        """Loadings, factor covariances, thresholds, scale factors and means of group k."""
        lay = self.layout[k]
        lam = np.zeros((self.p, self.m))
        lam[self.load_pos] = x[lay.load]
        vals = np.where(lay.phi >= 0, x[np.maximum(lay.phi, 0)], np.where(self.diag, 1.0, 0.0))
        phi = np.zeros((self.m, self.m))
        phi[self.tri] = vals
        phi = phi + np.tril(phi, -1).T
        tau = x[lay.tau]
        delta = np.where(lay.delta >= 0, x[np.maximum(lay.delta, 0)], 1.0)
        alpha = np.where(lay.alpha >= 0, x[np.maximum(lay.alpha, 0)], 0.0)
        return lam, phi, tau, delta, alpha

    def implied(self, x: np.ndarray, k: int) -> np.ndarray:
        lam, phi, tau, delta, alpha = self.group_values(x, k)
        mu = lam @ alpha
        th = delta[self.item_of_tau] * (tau - mu[self.item_of_tau])
        s = lam @ phi @ lam.T
        rho = delta[self.ii] * delta[self.jj] * s[self.ii, self.jj]
        return np.concatenate([th, rho])

    def jacobian(self, x: np.ndarray, k: int) -> np.ndarray:
        """d implied statistics of group k / d free parameters (all groups' columns)."""
        lam, phi, tau, delta, alpha = self.group_values(x, k)
        lay = self.layout[k]
        ii, jj, it = self.ii, self.jj, self.item_of_tau
        nt, npair = self.nt, len(ii)
        out = np.zeros((nt + npair, self.n_par))
        mu = lam @ alpha
        s = lam @ phi @ lam.T
        lp = lam @ phi
        dd = delta[ii] * delta[jj]
        # thresholds
        np.add.at(out, (np.arange(nt), lay.tau), delta[it])
        for c, (i, a) in enumerate(zip(*self.load_pos, strict=True)):
            col = lay.load[c]
            rows = np.nonzero(it == i)[0]
            out[rows, col] += -delta[i] * alpha[a]
            d = np.where(ii == i, lp[jj, a], 0.0) + np.where(jj == i, lp[ii, a], 0.0)
            out[nt:, col] += dd * d
        for c, (a, b) in enumerate(zip(*self.tri, strict=True)):
            if lay.phi[c] < 0:
                continue
            if a == b:
                d = lam[ii, a] * lam[jj, a]
            else:
                d = lam[ii, a] * lam[jj, b] + lam[ii, b] * lam[jj, a]
            out[nt:, lay.phi[c]] += dd * d
        for i in range(self.p):
            if lay.delta[i] < 0:
                continue
            rows = np.nonzero(it == i)[0]
            out[rows, lay.delta[i]] += tau[rows] - mu[i]
            d = np.where(ii == i, delta[jj], 0.0) + np.where(jj == i, delta[ii], 0.0)
            out[nt:, lay.delta[i]] += d * s[ii, jj]
        for a in range(self.m):
            if lay.alpha[a] < 0:
                continue
            out[:nt, lay.alpha[a]] += -delta[it] * lam[it, a]
        return out

    def stacked_jacobian(self, x: np.ndarray) -> np.ndarray:
        return np.vstack([self.jacobian(x, k) for k in range(self.g)])

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                np.sqrt((self.n_g[k] - 1.0) * self.weights[k])
                * (self.sample[k] - self.implied(x, k))
                for k in range(self.g)
            ]
        )

    def residual_jacobian(self, x: np.ndarray) -> np.ndarray:
        return np.vstack(
            [
                -np.sqrt((self.n_g[k] - 1.0) * self.weights[k])[:, None] * self.jacobian(x, k)
                for k in range(self.g)
            ]
        )

    def start(self, lam0: np.ndarray, phi0: np.ndarray) -> np.ndarray:
        """Start: common loadings/correlations, each group's (or the mean) thresholds."""
        x = np.zeros(self.n_par)
        mean_tau = np.mean([s.tau_vector for s in self.stats_g], axis=0)
        shared_tau = self.g > 1 and np.array_equal(self.layout[0].tau, self.layout[1].tau)
        for k, lay in enumerate(self.layout):
            x[lay.load] = lam0[self.load_pos]
            free = lay.phi >= 0
            x[lay.phi[free]] = phi0[self.tri][free]
            x[lay.tau] = mean_tau if shared_tau else self.stats_g[k].tau_vector
            x[lay.delta[lay.delta >= 0]] = 1.0
        return x

    def flip_signs(self, x: np.ndarray) -> np.ndarray:
        """Factors reflected so that their first item loads positively in group 1 (lavaan)."""
        x = x.copy()
        lam = self.group_values(x, 0)[0]
        first = [lam[self.load_pos[0][self.load_pos[1] == a][0], a] for a in range(self.m)]
        sign = np.where(np.array(first) < 0, -1.0, 1.0)
        if np.all(sign > 0):
            return x
        done: set[int] = set()
        for lay in self.layout:
            for c, (_, a) in enumerate(zip(*self.load_pos, strict=True)):
                if lay.load[c] not in done:
                    x[lay.load[c]] *= sign[a]
                    done.add(int(lay.load[c]))
            for c, (a, b) in enumerate(zip(*self.tri, strict=True)):
                if lay.phi[c] >= 0 and a != b and lay.phi[c] not in done:
                    x[lay.phi[c]] *= sign[a] * sign[b]
                    done.add(int(lay.phi[c]))
            for a in range(self.m):
                if lay.alpha[a] >= 0 and lay.alpha[a] not in done:
                    x[lay.alpha[a]] *= sign[a]
                    done.add(int(lay.alpha[a]))
        return x

    def blocks(self) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, list[slice]]:
        """Per group W_g (diagonal, as vectors), Gamma_g, f_g = N_g / N and row slices."""
        fg = self.n_g / self.n_g.sum()
        sizes = [len(v) for v in self.sample]
        ends = np.cumsum(sizes)
        rows = [slice(int(e - n), int(e)) for e, n in zip(ends, sizes, strict=True)]
        return self.weights, [s.gamma for s in self.stats_g], fg, rows


def _gamma_times(
    gammas: list[np.ndarray], scale: np.ndarray, rows: list[slice], x: np.ndarray
) -> np.ndarray:
    """bdiag(scale_g Gamma_g) @ x, block by block (Gamma is never assembled)."""
    return np.vstack([scale[k] * (gammas[k] @ x[r]) for k, r in enumerate(rows)])


def scaled_shifted(mg: MultiGroupOrdinal, delta: np.ndarray, chi2: float, df: int) -> tuple:
    """lavaan's scaled-shifted statistic for a multi-group DWLS fit: (T_ss, 1/a, b).

    ``tr(U Gamma)`` and ``tr((U Gamma)^2)`` with ``U = V - V D E^-1 D'V`` are expanded so
    that only q x q matrices and Gamma's diagonal blocks are multiplied.
    """
    weights, gammas, fg, rows = mg.blocks()
    v = np.concatenate([fg[k] * weights[k] for k in range(len(rows))])
    vd = delta * v[:, None]
    e_inv = np.linalg.pinv(delta.T @ vd)
    c = _gamma_times(gammas, 1.0 / fg, rows, vd)  # Gamma V D
    m = c.T @ vd  # D'V Gamma V D
    n = c.T @ (c * v[:, None])  # D'V Gamma V Gamma V D
    tr_vg = 0.0
    tr_vgvg = 0.0
    for k in range(len(rows)):
        vg = gammas[k] * (fg[k] * weights[k])[:, None] / fg[k]
        tr_vg += float(np.trace(vg))
        tr_vgvg += float(np.sum(vg * vg.T))
    em = e_inv @ m
    tr1 = tr_vg - float(np.trace(em))
    tr2 = tr_vgvg - 2.0 * float(np.sum(e_inv * n.T)) + float(np.sum(em * em.T))
    a = np.sqrt(df / tr2)
    b = df - a * tr1
    return float(a * chi2 + b), float(1.0 / a), float(b)


def satorra2000(mg1: MultiGroupOrdinal, fit1: LevelFit, fit0: LevelFit) -> tuple[float, int, float]:
    """Scaled-shifted difference test of ``fit0`` (restricted) against ``fit1`` (lavaan
    ``lavTestLRT`` method ``"satorra.2000"``, ``A.method = "delta"``): (T_d, df, p)."""
    m = fit0.df - fit1.df
    d1, d0 = fit1.delta_matrix, fit0.delta_matrix
    h = np.linalg.lstsq(d1, d0, rcond=None)[0]  # = pinv(D1) D0
    uu, sv, _ = np.linalg.svd(h, full_matrices=True)
    rank = int(np.sum(sv > 1e-7 * max(sv.max(initial=0.0), 1.0)))
    a_mat = uu[:, rank:].T  # orthogonal complement of span(H)
    weights, gammas, fg, rows = mg1.blocks()
    w = np.concatenate(weights)
    v = np.concatenate([fg[k] * weights[k] for k in range(len(rows))])
    info = d1.T @ (d1 * v[:, None])
    p_inv = np.linalg.inv(info)
    apa = a_mat @ p_inv @ a_mat.T
    paap = p_inv @ a_mat.T @ np.linalg.pinv(apa) @ a_mat @ p_inv
    wd = d1 * w[:, None]
    mm = _gamma_times(gammas, fg, rows, wd).T @ wd  # D'W bdiag(f Gamma) W D
    pm = paap @ mm
    tr1 = float(np.trace(pm))
    tr2 = float(np.sum(pm * pm.T))
    a = np.sqrt(m / tr2)
    b = m - a * tr1
    t_d = float((fit0.chi2 - fit1.chi2) * a + b)
    return t_d, int(m), float(stats.chi2.sf(max(t_d, 0.0), m))


def _levenberg_marquardt(
    fun, jac, x: np.ndarray, max_iter: int = 100
) -> tuple[np.ndarray, bool, str]:
    """Minimise ||fun(x)||^2 by Levenberg-Marquardt on the normal equations (q x q)."""
    r = fun(x)
    f = float(r @ r)
    lam = 1e-3
    stable = 0
    for it in range(max_iter):
        j = jac(x)
        g = j.T @ r
        a = j.T @ j
        if np.max(np.abs(g)) < 1e-9 * (1.0 + f):
            return x, True, f"gradient below tolerance after {it} iterations"
        diag = np.diag(a).copy()
        while True:
            try:
                step = np.linalg.solve(a + lam * np.diag(np.maximum(diag, 1e-12)), -g)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            x_new = x + step
            r_new = fun(x_new)
            f_new = float(r_new @ r_new)
            if f_new <= f:
                break
            lam *= 4.0
            if lam > 1e12:
                return x, False, "no decrease (damping limit)"
        done = f - f_new <= 1e-15 * (1.0 + f) and np.max(np.abs(step)) < 1e-10
        stable = stable + 1 if f - f_new <= 1e-11 * (1.0 + f) else 0
        x, r, f = x_new, r_new, f_new
        lam = max(lam / 3.0, 1e-12)
        if done:
            return x, True, f"converged after {it + 1} iterations"
        if stable >= 5:
            return x, True, f"objective stable to 1e-11 after {it + 1} iterations"
    return x, False, f"no convergence in {max_iter} iterations"


def fit_level(
    stats_g: list[OrdinalStats], pattern: np.ndarray, level: str, start: tuple
) -> tuple[MultiGroupOrdinal, LevelFit]:
    """DWLS fit of one invariance level with its scaled-shifted test."""
    mg = MultiGroupOrdinal(stats_g, pattern, level)
    x, converged, message = _levenberg_marquardt(
        mg.residuals, mg.residual_jacobian, mg.start(*start)
    )
    x = mg.flip_signs(x)
    chi2 = float(np.sum(mg.residuals(x) ** 2))
    moments = sum(len(s) for s in mg.sample)
    df = moments - mg.n_par
    if df < 0:
        raise ValueError(f"the {level} model is not identified (df = {df})")
    delta = mg.stacked_jacobian(x)
    t_ss, scale, shift = scaled_shifted(mg, delta, chi2, df) if df > 0 else (np.nan,) * 3
    fit = LevelFit(
        level=level,
        x=x,
        chi2=chi2,
        df=int(df),
        chi2_scaled=t_ss,
        scaling_factor=scale,
        shift=shift,
        delta_matrix=delta,
        converged=converged,
        message=message,
    )
    return mg, fit


def baseline(stats_g: list[OrdinalStats]) -> tuple[float, float, int]:
    """Independence model per group (thresholds free, correlations 0): T, T_ss, df."""
    chi2 = 0.0
    for s in stats_g:
        w = 1.0 / np.diag(s.gamma)[s.n_thresholds :]
        chi2 += (s.n - 1.0) * float(np.sum(w * s.rho_vector**2))
    nt = stats_g[0].n_thresholds
    npair = len(stats_g[0].rho_vector)
    df = len(stats_g) * npair
    mg = MultiGroupOrdinal.__new__(MultiGroupOrdinal)
    mg.sample = [np.concatenate([s.tau_vector, s.rho_vector]) for s in stats_g]
    mg.weights = [1.0 / np.diag(s.gamma) for s in stats_g]
    mg.stats_g = stats_g
    mg.n_g = np.array([s.n for s in stats_g], dtype=float)
    blocks = [np.vstack([np.eye(nt), np.zeros((npair, nt))]) for _ in stats_g]
    delta = linalg.block_diag(*blocks)
    t_ss = scaled_shifted(mg, delta, chi2, df)[0]
    return chi2, t_ss, df


def group_stats(
    frame: pd.DataFrame, items: list[str], group: str, labels: list, notes: list[str]
) -> list:
    """Thresholds, polychorics and NACOV per group on a common coding of the categories.

    A polychoric matrix that is not positive definite is noted in ``notes``, not refused.
    """
    coded = code_items(frame[items])
    out = []
    for lab in labels:
        mask = (frame[group] == lab).to_numpy()
        codes = coded.codes[mask]
        for j, name in enumerate(items):
            counts = np.bincount(codes[:, j], minlength=len(coded.categories[j]))
            empty = [coded.categories[j][c] for c in np.nonzero(counts == 0)[0]]
            if empty:
                raise ValueError(
                    f"item {name!r} has no answer {', '.join(f'{v:g}' for v in empty)} in "
                    f"group {lab!r}; multi-group WLSMV needs every category in every group "
                    "(merge sparse categories first)"
                )
        sub = _Coded(coded.names, codes, coded.categories)
        st = ordinal_stats(sub)
        if np.min(np.linalg.eigvalsh(st.corr)) <= 0:
            # DWLS uses only diag(Gamma): it runs, but lavaan warns as well
            notes.append(
                f"the polychoric correlation matrix of group {lab!r} is not positive definite"
            )
        out.append(st)
    return out


__all__ = ["WLSMV_LEVELS", "fit_level", "satorra2000", "baseline", "group_stats"]
