"""Polychoric and tetrachoric correlations by two-step maximum likelihood.

Step 1: each item's thresholds are the normal quantiles of its cumulative marginal
proportions (all answers to the item). Step 2: with the thresholds fixed, each pair's
correlation maximises the bivariate-normal likelihood of the pair's contingency table
(Olsson 1979, "two-step"). This is what ``psych::polychoric`` (``global = TRUE``) and
lavaan (for ``ordered`` items) compute.

The bivariate normal probabilities use the identity
``Phi2(h, k; r) = Phi(h) Phi(k) + 1/(2 pi) int_0^asin(r) exp(-(h^2 - 2 h k sin t + k^2)
/ (2 cos^2 t)) dt`` with Gauss-Legendre quadrature, vectorised over all pairs and cells.
The correlations solve the score equation by bisection, all pairs at once.

Continuity correction: psych adds ``correct = 0.5`` to empty cells by default; lavaan
does not. ``correct=0`` (the default here) gives the plain ML estimate (psych's
``correct = 0``, lavaan's value); ``correct=0.5`` replaces empty cells of each pair's
table by 0.5 as psych does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from scoring.psychometrics.results import _clean

_BIG = 1e3  # stands in for +/- infinity as a threshold
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)
_RHO_MAX = 0.99999


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    return special.ndtr(x)


def bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """P(X <= h, Y <= k) for standard bivariate normal variables with correlation rho.

    Broadcasts over its arguments; +/- 1e3 (or larger) act as infinite bounds.
    """
    h, k, rho = np.broadcast_arrays(
        np.asarray(h, float), np.asarray(k, float), np.asarray(rho, float)
    )
    h = np.clip(h, -_BIG, _BIG)
    k = np.clip(k, -_BIG, _BIG)
    upper = np.arcsin(np.clip(rho, -1.0, 1.0))
    # Gauss-Legendre nodes mapped to [0, asin(rho)]
    theta = (upper[..., None] / 2.0) * (_NODES + 1.0)
    s = np.sin(theta)
    c2 = np.cos(theta) ** 2
    hh = h[..., None]
    kk = k[..., None]
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        expo = -(hh * hh - 2.0 * hh * kk * s + kk * kk) / (2.0 * c2)
        integrand = np.exp(np.where(c2 > 0, expo, -np.inf))
    integral = (integrand * _WEIGHTS).sum(axis=-1) * upper / 2.0
    return _norm_cdf(h) * _norm_cdf(k) + integral / (2.0 * np.pi)


def bivariate_normal_pdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Density of the standard bivariate normal at (h, k); 0 at the +/- 1e3 bounds."""
    one_m = 1.0 - rho * rho
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        q = (h * h - 2.0 * rho * h * k + k * k) / (2.0 * one_m)
        out = np.exp(-q) / (2.0 * np.pi * np.sqrt(one_m))
    return np.where((np.abs(h) >= _BIG) | (np.abs(k) >= _BIG), 0.0, out)


@dataclass(frozen=True)
class PolychoricResult:
    """Polychoric correlations with the thresholds and pairwise n they rest on."""

    correlations: pd.DataFrame
    thresholds: dict[str, np.ndarray]
    n: pd.DataFrame
    categories: dict[str, list[float]]
    correct: float
    method: str = "two-step ML polychoric correlation (Olsson 1979)"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(
            {
                "method": self.method,
                "correct": self.correct,
                "correlations": self.correlations.to_dict(),
                "thresholds": {k: list(v) for k, v in self.thresholds.items()},
                "n": self.n.to_dict(),
                "notes": list(self.notes),
            }
        )


@dataclass
class _Coded:
    """Items recoded to 0..K-1 (-1 = missing), with per-item categories."""

    names: list[str]
    codes: np.ndarray  # (n, p) int, -1 missing
    categories: list[np.ndarray]

    @property
    def n_cat(self) -> np.ndarray:
        return np.array([len(c) for c in self.categories])


def code_items(data: pd.DataFrame | np.ndarray, *, max_categories: int = 20) -> _Coded:
    """Validate ordinal items and recode each to 0..K-1 in the order of its values."""
    frame = pd.DataFrame(data).copy()
    if frame.shape[1] < 2:
        raise ValueError("need at least 2 item columns")
    bad = [
        str(c)
        for c in frame.columns
        if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    if bad:
        raise ValueError(f"non-numeric item columns (recode to numbers first): {', '.join(bad)}")
    values = frame.to_numpy(dtype=float)
    if np.isinf(values).any():
        cols = [
            str(c) for c, f in zip(frame.columns, np.isinf(values).any(axis=0), strict=True) if f
        ]
        raise ValueError(f"infinite values in columns: {', '.join(cols)}")
    codes = np.full(values.shape, -1, dtype=np.int64)
    cats: list[np.ndarray] = []
    for j, name in enumerate(frame.columns):
        col = values[:, j]
        ok = ~np.isnan(col)
        uniq, inv = np.unique(col[ok], return_inverse=True)
        if len(uniq) < 2:
            raise ValueError(f"item {name!r} has fewer than 2 observed categories")
        if len(uniq) > max_categories:
            raise ValueError(
                f"item {name!r} has {len(uniq)} distinct values; polychoric correlations need "
                f"ordinal items (at most {max_categories} categories)"
            )
        codes[ok, j] = inv
        cats.append(uniq)
    return _Coded([str(c) for c in frame.columns], codes, cats)


def thresholds_from_codes(coded: _Coded) -> list[np.ndarray]:
    """Normal quantiles of the cumulative marginal proportions (each item's answers)."""
    out = []
    for j, k in enumerate(coded.n_cat):
        col = coded.codes[:, j]
        freq = np.bincount(col[col >= 0], minlength=k).astype(float)
        cum = np.cumsum(freq)[:-1] / freq.sum()
        out.append(special.ndtri(cum))
    return out


def pair_tables(coded: _Coded, kmax: int) -> np.ndarray:
    """Contingency tables of all item pairs, shape (p, p, kmax, kmax), pairwise complete."""
    codes = coded.codes
    p = codes.shape[1]
    out = np.zeros((p, p, kmax, kmax))
    complete = bool((codes >= 0).all())
    for i in range(p):
        for j in range(i + 1, p):
            a, b = codes[:, i], codes[:, j]
            if not complete:
                ok = (a >= 0) & (b >= 0)
                a, b = a[ok], b[ok]
            tab = np.bincount(a * kmax + b, minlength=kmax * kmax).reshape(kmax, kmax)
            out[i, j] = tab
            out[j, i] = tab.T
    for i in range(p):
        col = codes[:, i]
        out[i, i] = np.diag(np.bincount(col[col >= 0], minlength=kmax))
    return out


def _padded_bounds(taus: list[np.ndarray], kmax: int) -> np.ndarray:
    """(p, kmax + 1) array of bounds -BIG, tau_1..tau_{K-1}, BIG, BIG, ..."""
    out = np.full((len(taus), kmax + 1), _BIG)
    out[:, 0] = -_BIG
    for j, t in enumerate(taus):
        out[j, 1 : len(t) + 1] = np.clip(t, -_BIG, _BIG)
    return out


def cell_probabilities(hb: np.ndarray, kb: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Cell probabilities (m, K1, K2) from bounds hb (m, K1+1), kb (m, K2+1), rho (m,)."""
    corners = bivariate_normal_cdf(hb[:, :, None], kb[:, None, :], rho[:, None, None])
    return corners[:, 1:, 1:] - corners[:, :-1, 1:] - corners[:, 1:, :-1] + corners[:, :-1, :-1]


def cell_density_diff(hb: np.ndarray, kb: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """d P(cell) / d rho, shape (m, K1, K2)."""
    dens = bivariate_normal_pdf(hb[:, :, None], kb[:, None, :], rho[:, None, None])
    return dens[:, 1:, 1:] - dens[:, :-1, 1:] - dens[:, 1:, :-1] + dens[:, :-1, :-1]


def _score_info(
    tables: np.ndarray, hb: np.ndarray, kb: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Score d logL / d rho and expected information of each pair's table."""
    prob = cell_probabilities(hb, kb, rho)
    dprob = cell_density_diff(hb, kb, rho)
    used = tables > 0
    safe = np.maximum(prob, 1e-300)
    score = np.where(used, tables * dprob / safe, 0.0).sum(axis=(1, 2))
    positive = prob > 1e-300
    info = tables.sum(axis=(1, 2)) * np.where(positive, dprob * dprob / safe, 0.0).sum(axis=(1, 2))
    return score, info


def solve_rho(
    tables: np.ndarray, hb: np.ndarray, kb: np.ndarray, tol: float = 1e-10, max_iter: int = 200
) -> np.ndarray:
    """Two-step ML correlation of each pair: root of the score (vectorised).

    Fisher scoring safeguarded by bisection: a bracket [lo, hi] around the root shrinks
    with each evaluated sign of the score; steps leaving the bracket are replaced by its
    midpoint.
    """
    m = tables.shape[0]
    lo = np.full(m, -_RHO_MAX)
    hi = np.full(m, _RHO_MAX)
    rho = np.zeros(m)
    active = np.ones(m, dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        r = rho[idx]
        score, info = _score_info(tables[idx], hb[idx], kb[idx], r)
        up = score > 0
        lo[idx] = np.where(up, r, lo[idx])
        hi[idx] = np.where(up, hi[idx], r)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = score / info
        new = r + step
        inside = np.isfinite(new) & (new > lo[idx]) & (new < hi[idx])
        new = np.where(inside, new, (lo[idx] + hi[idx]) / 2.0)
        rho[idx] = new
        done = (np.abs(new - r) < tol) | (hi[idx] - lo[idx] < tol)
        active[idx[done]] = False
    return rho


def _pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(p, 1)


def polychoric_from_coded(
    coded: _Coded, correct: float = 0.0
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Correlation matrix, thresholds and the pairwise tables of coded items."""
    taus = thresholds_from_codes(coded)
    kmax = int(coded.n_cat.max())
    tabs = pair_tables(coded, kmax)
    p = len(coded.names)
    ii, jj = _pairs(p)
    bounds = _padded_bounds(taus, kmax)
    t = tabs[ii, jj].copy()
    if correct > 0:
        # psych: empty cells inside each pair's table (within its categories) get `correct`
        ki = coded.n_cat[ii]
        kj = coded.n_cat[jj]
        inside = (np.arange(kmax)[None, :, None] < ki[:, None, None]) & (
            np.arange(kmax)[None, None, :] < kj[:, None, None]
        )
        t = np.where(inside & (t == 0), correct, t)
    rho = solve_rho(t, bounds[ii], bounds[jj])
    r = np.eye(p)
    r[ii, jj] = rho
    r[jj, ii] = rho
    return r, taus, tabs


def polychoric(data: pd.DataFrame | np.ndarray, *, correct: float = 0.0) -> PolychoricResult:
    """Polychoric correlation matrix of ordinal items (two-step ML, as psych::polychoric).

    Rows = respondents, columns = items with ordered numeric codes (any numbers; each
    item's distinct values are its categories). Thresholds come from each item's answers;
    each correlation from the rows where both items are answered (pairwise). ``correct``
    is the value put into empty cells of a pair's table (psych's default 0.5; 0 = plain
    ML, as lavaan). Returns a ``PolychoricResult`` (``correlations``, ``thresholds``,
    ``n``).
    """
    if correct < 0:
        raise ValueError("correct must be >= 0")
    frame = pd.DataFrame(data)
    coded = code_items(frame)
    r, taus, tabs = polychoric_from_coded(coded, correct)
    names = coded.names
    ok = (coded.codes >= 0).astype(float)
    n_pair = ok.T @ ok
    notes = []
    if np.min(np.linalg.eigvalsh(r)) <= 0:
        notes.append("the polychoric matrix is not positive definite")
    if np.any(np.abs(r[np.triu_indices(len(names), 1)]) > 0.9999):
        notes.append("a correlation reached +/-1 (empty cells; consider correct=0.5)")
    return PolychoricResult(
        correlations=pd.DataFrame(r, index=names, columns=names),
        thresholds={name: t for name, t in zip(names, taus, strict=True)},
        n=pd.DataFrame(n_pair.astype(int), index=names, columns=names),
        categories={
            name: [float(v) for v in c] for name, c in zip(names, coded.categories, strict=True)
        },
        correct=float(correct),
        notes=tuple(notes),
    )


def tetrachoric(data: pd.DataFrame | np.ndarray, *, correct: float = 0.0) -> PolychoricResult:
    """Tetrachoric correlations of dichotomous items (polychoric with 2 categories each)."""
    frame = pd.DataFrame(data)
    coded = code_items(frame)
    many = [n for n, k in zip(coded.names, coded.n_cat, strict=True) if k != 2]
    if many:
        raise ValueError(f"tetrachoric needs dichotomous items; not dichotomous: {', '.join(many)}")
    res = polychoric(frame, correct=correct)
    return PolychoricResult(
        correlations=res.correlations,
        thresholds=res.thresholds,
        n=res.n,
        categories=res.categories,
        correct=res.correct,
        method="two-step ML tetrachoric correlation",
        notes=res.notes,
    )
