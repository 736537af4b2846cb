"""Exploratory factor analysis (factor_analyzer) with KMO, Bartlett and parallel analysis.

The solution is post-processed as ``psych::fa`` does, so that it can be compared with R:
the extraction (``minres`` by default, or ``ml``) is rotated from the unrotated loadings
(``oblimin`` with gamma = 0 and no Kaiser normalisation, as ``GPArotation::oblimin``
called by ``psych::fa``), each factor is reflected so that its loadings sum to a positive
number, and factors are ordered by the variance they account for, diag(Phi L'L).

Missing data: ``missing="listwise"`` (default) uses complete rows only; ``"pairwise"``
factors the pairwise-complete correlation matrix (n is then the number of rows with any
answer, as ``psych`` uses for ``n.obs``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from scoring.psychometrics.items import (
    apply_missing,
    as_item_frame,
    check_missing_mode,
    check_not_constant,
    correlation,
)
from scoring.psychometrics.results import _clean

ROTATIONS = (
    "oblimin",
    "quartimin",
    "geomin_obl",
    "promax",
    "varimax",
    "quartimax",
    "geomin_ort",
    "equamax",
    "oblimax",
    "none",
)
OBLIQUE = ("oblimin", "quartimin", "geomin_obl", "promax", "oblimax")
METHODS = ("minres", "ml")


def _factor_analyzer(**kwargs: Any) -> Any:
    from factor_analyzer import FactorAnalyzer

    return FactorAnalyzer(**kwargs)


def extract(corr: np.ndarray, n_factors: int, method: str = "minres") -> np.ndarray:
    """Unrotated loadings of a correlation matrix (minres: factor_analyzer; ml: best of
    several starts of psych's ML objective, ``ml_factor.ml_extract``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "ml":
        from scoring.psychometrics.ml_factor import ml_extract

        return ml_extract(corr, n_factors)[0]
    fa = _factor_analyzer(n_factors=n_factors, rotation=None, method=method, is_corr_matrix=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's force_all_finite deprecation notice
        fa.fit(corr)
    return np.asarray(fa.loadings_, dtype=float).reshape(corr.shape[0], n_factors)


def rotate(loadings: np.ndarray, rotation: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Rotate ``loadings``; returns (pattern loadings, factor correlations or None)."""
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be one of {', '.join(ROTATIONS)}, got {rotation!r}")
    if rotation == "none" or loadings.shape[1] < 2:
        return loadings, None
    from factor_analyzer.rotator import Rotator

    kwargs: dict[str, Any] = {"method": rotation, "max_iter": 1000}
    if rotation in OBLIQUE and rotation != "promax":
        kwargs["normalize"] = False
    rot = Rotator(**kwargs)
    rotated = np.asarray(rot.fit_transform(loadings), dtype=float)
    phi = None if rot.phi_ is None else np.asarray(rot.phi_, dtype=float)
    return rotated, phi


def psych_order(loadings: np.ndarray, phi: np.ndarray | None) -> tuple[np.ndarray, Any]:
    """Reflect factors to positive loading sums and sort by diag(Phi L'L), as psych::fa."""
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1.0
    loadings = loadings * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
    ev = np.diag(loadings.T @ loadings) if phi is None else np.diag(phi @ loadings.T @ loadings)
    order = np.argsort(-ev, kind="stable")
    loadings = loadings[:, order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]
    return loadings, phi


def kmo(corr: np.ndarray) -> tuple[float, np.ndarray]:
    """Kaiser-Meyer-Olkin measure of sampling adequacy: overall and per item."""
    inv = np.linalg.inv(corr)
    d = np.sqrt(np.diag(inv))
    partial = -inv / np.outer(d, d)
    r2 = corr**2
    p2 = partial**2
    np.fill_diagonal(r2, 0.0)
    np.fill_diagonal(p2, 0.0)
    overall = r2.sum() / (r2.sum() + p2.sum())
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + p2.sum(axis=0))
    return float(overall), per_item


def bartlett(corr: np.ndarray, n: int) -> dict[str, float]:
    """Bartlett's test of sphericity: chi2 = -(n - 1 - (2p + 5)/6) ln|R|, df = p(p-1)/2."""
    p = corr.shape[0]
    sign, logdet = np.linalg.slogdet(corr)
    if sign <= 0:
        raise ValueError("correlation matrix is not positive definite (Bartlett's test)")
    chi2 = -(n - 1 - (2 * p + 5) / 6.0) * logdet
    df = p * (p - 1) / 2.0
    return {"chi2": float(chi2), "df": float(df), "p": float(stats.chi2.sf(chi2, df))}


def _prepare(items: pd.DataFrame, missing: str, min_items: int = 3) -> tuple:
    frame = as_item_frame(items, min_items=min_items)
    check_missing_mode(missing)
    frame = apply_missing(frame, missing, min_rows=frame.shape[1] + 1)
    check_not_constant(frame)
    corr = correlation(frame, missing)
    if np.linalg.eigvalsh(corr)[0] <= 1e-10:
        raise ValueError(
            "correlation matrix is singular or not positive definite "
            "(collinear items, or too little pairwise overlap)"
        )
    return frame, corr


@dataclass(frozen=True)
class ParallelAnalysisResult:
    """Horn's parallel analysis: observed vs simulated eigenvalues and the suggested number."""

    n_factors: int
    kind: str
    observed: np.ndarray
    simulated_mean: np.ndarray
    simulated_quantile: np.ndarray
    quantile: float
    n_iter: int
    n: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(
            {
                "n_factors": self.n_factors,
                "kind": self.kind,
                "quantile": self.quantile,
                "n_iter": self.n_iter,
                "n": self.n,
                "observed": list(self.observed),
                "simulated_mean": list(self.simulated_mean),
                "simulated_quantile": list(self.simulated_quantile),
            }
        )


def _eigenvalues(corr: np.ndarray, kind: str) -> np.ndarray:
    if kind == "fa":
        # psych::fa.parallel(fa = "fa"): eigenvalues of R with the communalities of a
        # one-factor minres solution on the diagonal (fa(...)$values)
        h2 = (extract(corr, 1) ** 2).sum(axis=1)
        corr = corr.copy()
        np.fill_diagonal(corr, h2)
    return np.sort(np.linalg.eigvalsh(corr))[::-1]


def parallel_analysis(
    items: pd.DataFrame,
    *,
    n_iter: int = 20,
    seed: int | None = None,
    kind: str = "fa",
    quantile: float = 0.95,
    missing: str = "listwise",
) -> ParallelAnalysisResult:
    """Horn's (1965) parallel analysis as ``psych::fa.parallel`` (simulated normal data).

    ``kind="fa"`` compares eigenvalues of the common-factor solution (R with one-factor
    minres communalities on the diagonal, psych's ``fa = "fa"``); ``kind="pc"`` compares
    eigenvalues of R (principal components, psych's ``fa = "pc"``). Each of ``n_iter``
    data sets has the same n and number of items, drawn from independent standard
    normals; the suggested number is how many leading observed eigenvalues exceed the
    ``quantile`` (default 0.95, psych's ``quant``) of the simulated ones.
    """
    if kind not in ("fa", "pc"):
        raise ValueError(f"kind must be 'fa' or 'pc', got {kind!r}")
    if n_iter < 1:
        raise ValueError("n_iter must be at least 1")
    if not 0 < quantile < 1:
        raise ValueError("quantile must be between 0 and 1")
    frame, corr = _prepare(items, missing)
    n, p = frame.shape
    observed = _eigenvalues(corr, kind)
    rng = np.random.default_rng(seed)
    sims = np.empty((n_iter, p))
    for i in range(n_iter):  # loop over simulated data sets, not over rows
        sim = rng.standard_normal((n, p))
        sims[i] = _eigenvalues(np.corrcoef(sim, rowvar=False), kind)
    threshold = np.quantile(sims, quantile, axis=0)
    above = observed > threshold
    n_factors = int(p if above.all() else np.argmin(above))
    return ParallelAnalysisResult(
        n_factors=n_factors,
        kind=kind,
        observed=observed,
        simulated_mean=sims.mean(axis=0),
        simulated_quantile=threshold,
        quantile=quantile,
        n_iter=n_iter,
        n=n,
    )


@dataclass(frozen=True)
class EFAResult:
    """An exploratory factor solution with sampling-adequacy statistics."""

    loadings: pd.DataFrame
    communalities: pd.Series
    variance: pd.DataFrame
    factor_correlations: pd.DataFrame | None
    kmo: float
    kmo_items: pd.Series
    bartlett: dict[str, float]
    n: int
    n_factors: int
    rotation: str
    method: str
    missing: str
    parallel: ParallelAnalysisResult | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def uniquenesses(self) -> pd.Series:
        """1 - communality per item."""
        return 1.0 - self.communalities

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        phi = self.factor_correlations
        return _clean(
            {
                "n": self.n,
                "n_factors": self.n_factors,
                "rotation": self.rotation,
                "method": self.method,
                "missing": self.missing,
                "loadings": {i: row.to_dict() for i, row in self.loadings.iterrows()},
                "communalities": self.communalities.to_dict(),
                "variance": {k: row.to_dict() for k, row in self.variance.iterrows()},
                "factor_correlations": None
                if phi is None
                else {i: row.to_dict() for i, row in phi.iterrows()},
                "kmo": self.kmo,
                "kmo_items": self.kmo_items.to_dict(),
                "bartlett": self.bartlett,
                "parallel": None if self.parallel is None else self.parallel.to_dict(),
                "notes": list(self.notes),
            }
        )


def efa(
    items: pd.DataFrame,
    n_factors: int | None = None,
    rotation: str = "oblimin",
    method: str = "minres",
    *,
    missing: str = "listwise",
    seed: int | None = 0,
) -> EFAResult:
    """Exploratory factor analysis of item scores (rows = respondents, columns = items).

    ``n_factors=None`` takes the number suggested by :func:`parallel_analysis` (psych-style
    ``kind="fa"``, 20 simulated data sets, ``seed``), at least 1. Returns pattern loadings,
    communalities, variance accounted for (SS loadings, proportion, cumulative; for
    oblique rotations SS = diag(Phi L'L) as psych reports), factor correlations (oblique
    rotations), KMO (overall and per item) and Bartlett's test of sphericity.
    """
    if rotation is None:
        rotation = "none"
    frame, corr = _prepare(items, missing)
    p = frame.shape[1]
    parallel = None
    if n_factors is None:
        parallel = parallel_analysis(frame, seed=seed, missing=missing)
        n_factors = max(1, parallel.n_factors)
    if not isinstance(n_factors, (int, np.integer)) or not 1 <= n_factors < p:
        raise ValueError(f"n_factors must be an integer from 1 to {p - 1}, got {n_factors!r}")
    n_factors = int(n_factors)
    notes: list[str] = []
    dof = ((p - n_factors) ** 2 - (p + n_factors)) / 2
    if dof < 0:
        notes.append(
            f"{n_factors} factors for {p} items leave negative degrees of freedom "
            f"({dof:g}); the solution is not identified"
        )
    unrotated = extract(corr, n_factors, method)
    communalities = (unrotated**2).sum(axis=1)
    loadings, phi = rotate(unrotated, rotation)
    loadings, phi = psych_order(loadings, phi)
    if np.any(communalities > 0.995):
        notes.append("Heywood case: a communality is at or above 1")
    names = [f"F{j + 1}" for j in range(n_factors)]
    ss = np.diag(loadings.T @ loadings) if phi is None else np.diag(phi @ loadings.T @ loadings)
    variance = pd.DataFrame(
        [ss, ss / p, np.cumsum(ss) / p],
        index=["ss_loadings", "proportion", "cumulative"],
        columns=names,
    )
    item_names = [str(c) for c in frame.columns]
    overall, per_item = kmo(corr)
    return EFAResult(
        loadings=pd.DataFrame(loadings, index=item_names, columns=names),
        communalities=pd.Series(communalities, index=item_names, name="communality"),
        variance=variance,
        factor_correlations=None if phi is None else pd.DataFrame(phi, index=names, columns=names),
        kmo=overall,
        kmo_items=pd.Series(per_item, index=item_names, name="kmo"),
        bartlett=bartlett(corr, len(frame)),
        n=len(frame),
        n_factors=n_factors,
        rotation=rotation,
        method=method,
        missing=missing,
        parallel=parallel,
        notes=tuple(notes),
    )
