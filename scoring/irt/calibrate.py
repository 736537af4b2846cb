"""Item calibration by marginal maximum likelihood (Bock & Aitkin EM, then quasi-Newton).

The latent trait is N(0, 1) on a fixed rectangular quadrature (61 nodes on [-6, 6], as
mirt's default). Each EM cycle computes the expected category counts at every node
(E-step) and maximises the complete-data log-likelihood of all items at once with
L-BFGS and analytic gradients (M-step). When the log-likelihood changes less than
``em_tol`` the marginal log-likelihood itself is maximised by L-BFGS, its gradient
being the complete-data gradient at the current posterior (Fisher's identity).
Missing answers contribute nothing to the likelihood.

Standard errors come from the observed information: the Hessian of the marginal
log-likelihood by central differences of its analytic gradient (the "Bock-Lieberman"
type of mirt), inverted; thresholds ``b = -d/a`` get theirs by the delta method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from scoring.irt.data import Responses, indicator, prepare
from scoring.irt.models import ItemSet, Kind
from scoring.irt.quadrature import normal_grid
from scoring.irt.theta import Method, score_theta

Model = Literal["grm", "gpcm", "2pl", "rasch"]
MODELS: tuple[str, ...] = ("grm", "gpcm", "2pl", "rasch")


@dataclass(frozen=True)
class _Layout:
    """How the free parameter vector maps onto (a, d)."""

    kind: Kind
    n_items: int
    finite: np.ndarray  # (I, K-1) bool: which d exist
    slope: Literal["free", "common", "fixed"]
    fixed_a: float = 1.0

    @property
    def n_slopes(self) -> int:
        return {"free": self.n_items, "common": 1, "fixed": 0}[self.slope]

    @property
    def size(self) -> int:
        return self.n_slopes + int(self.finite.sum())

    def slopes(self, x: np.ndarray) -> np.ndarray:
        if self.slope == "free":
            return x[: self.n_items]
        if self.slope == "common":
            return np.full(self.n_items, x[0])
        return np.full(self.n_items, self.fixed_a)

    def unpack(self, x: np.ndarray) -> ItemSet:
        """Free vector -> item set. GRM intercepts: d_1, then log(d_{j-1} - d_j)."""
        v = np.zeros(self.finite.shape)
        v[self.finite] = x[self.n_slopes :]
        if self.kind == "grm":
            steps = np.where(self.finite, -np.exp(np.minimum(v, 30.0)), 0.0)
            steps[:, 0] = v[:, 0]
            d = np.cumsum(steps, axis=1)
        else:
            d = v
        return ItemSet(self.kind, self.slopes(x).astype(float), np.where(self.finite, d, -np.inf))

    def pack(self, items: ItemSet) -> np.ndarray:
        if self.kind == "grm":
            gaps = np.where(self.finite[:, 1:], items.d[:, :-1] - items.d[:, 1:], 1.0)
            v = np.concatenate([items.d[:, :1], np.log(np.maximum(gaps, 1e-8))], axis=1)
        else:
            v = items.d
        head = {
            "free": items.a,
            "common": np.array([items.a.mean()]),
            "fixed": np.zeros(0),
        }[self.slope]
        return np.concatenate([head, v[self.finite]])

    def chain(self, x: np.ndarray, grad_a: np.ndarray, grad_d: np.ndarray) -> np.ndarray:
        """Gradient with respect to the free vector from d/da and d/dd."""
        if self.slope == "free":
            head = grad_a
        elif self.slope == "common":
            head = np.array([grad_a.sum()])
        else:
            head = np.zeros(0)
        g = np.where(self.finite, grad_d, 0.0)
        if self.kind == "grm":
            v = np.zeros(self.finite.shape)
            v[self.finite] = x[self.n_slopes :]
            tail = np.cumsum(g[:, ::-1], axis=1)[:, ::-1]  # sum over m >= j
            g = np.where(self.finite, -np.exp(np.minimum(v, 30.0)) * tail, 0.0)
            g[:, 0] = tail[:, 0]
        return np.concatenate([head, g[self.finite]])


class _Marginal:
    """Marginal log-likelihood over the distinct answer patterns."""

    def __init__(self, responses: Responses, width: int, nodes: np.ndarray, weights: np.ndarray):
        patterns, counts, _ = responses.patterns()
        self.onehot = indicator(patterns, width)  # (P, I*K)
        self.counts = counts
        self.nodes = nodes
        self.weights = weights
        self.n_items = patterns.shape[1]
        self.width = width

    def estep(self, items: ItemSet) -> tuple[float, np.ndarray]:
        """Log-likelihood and expected counts (I, K, Q) under ``items``."""
        logp = items.log_probs(self.nodes).reshape(self.n_items * self.width, -1)
        logp = np.where(np.isfinite(logp), logp, -700.0)
        loglik = self.onehot @ logp
        top = loglik.max(axis=1, keepdims=True)
        joint = np.exp(loglik - top) * self.weights
        total = joint.sum(axis=1, keepdims=True)
        ll = float(self.counts @ (np.log(total[:, 0]) + top[:, 0]))
        post = joint * (self.counts[:, None] / total)
        expected = (self.onehot.T @ post).reshape(self.n_items, self.width, -1)
        return ll, expected


def _start(responses: Responses, kind: Kind, width: int) -> ItemSet:
    """Start values from the category proportions (slopes 1)."""
    n_items = len(responses.items)
    d = np.full((n_items, width - 1), -np.inf)
    for i in range(n_items):
        col = responses.index[:, i]
        k = len(responses.codes[i])
        freq = np.bincount(col[col >= 0], minlength=k)[:k] + 0.5
        p = freq / freq.sum()
        if kind == "grm":
            at_least = np.clip(np.cumsum(p[::-1])[::-1][1:], 1e-4, 1 - 1e-4)
            d[i, : k - 1] = np.log(at_least / (1 - at_least)) * 1.3
        else:
            d[i, : k - 1] = np.log(p[1:] / p[:-1])
    return ItemSet(kind, np.ones(n_items), d)


@dataclass(frozen=True)
class IRTFit:
    """A calibrated item set: parameters, standard errors and fit statistics."""

    model: str
    items: ItemSet
    item_ids: tuple[str, ...]
    codes: tuple[tuple[float, ...], ...]
    loglik: float
    n: int
    n_params: int
    converged: bool
    iterations: int
    nodes: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    covariance: np.ndarray | None = field(default=None, repr=False)
    se_note: str = ""

    @property
    def aic(self) -> float:
        """Akaike information criterion, -2 logL + 2p."""
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        """Bayesian information criterion, -2 logL + p log(n)."""
        return -2.0 * self.loglik + self.n_params * float(np.log(self.n))

    def _threshold_names(self) -> list[str]:
        if self.items.max_categories == 2:
            return ["b"]
        return [f"b{j + 1}" for j in range(self.items.max_categories - 1)]

    @property
    def params(self) -> pd.DataFrame:
        """One row per item: ``a`` then ``b`` (2PL/Rasch) or ``b1..bk`` (GRM/GPCM)."""
        frame = pd.DataFrame(
            self.items.b, index=list(self.item_ids), columns=self._threshold_names()
        )
        frame.insert(0, "a", self.items.a)
        return frame

    @property
    def intercepts(self) -> pd.DataFrame:
        """Slope-intercept form: ``a`` and ``d1..dk`` (mirt's ``coef()`` layout)."""
        d = np.where(np.isfinite(self.items.d), self.items.d, np.nan)
        names = ["d"] if d.shape[1] == 1 else [f"d{j + 1}" for j in range(d.shape[1])]
        frame = pd.DataFrame(d, index=list(self.item_ids), columns=names)
        frame.insert(0, "a", self.items.a)
        return frame

    def _se_frame(self, irt: bool) -> pd.DataFrame:
        template = self.params if irt else self.intercepts
        out = pd.DataFrame(np.nan, index=template.index, columns=template.columns)
        if self.covariance is None:
            return out
        layout = _natural_layout(self)
        cov = self.covariance
        a_idx, d_idx = layout
        a = self.items.a
        for i in range(self.items.n_items):
            ai = a_idx[i]
            if ai is not None:
                out.iat[i, 0] = np.sqrt(max(cov[ai, ai], 0.0))
            for j, dj in enumerate(d_idx[i]):
                if not irt:
                    out.iat[i, j + 1] = np.sqrt(max(cov[dj, dj], 0.0))
                    continue
                # b = -d/a: gradient (d/a^2, -1/a) with respect to (a, d)
                gd = -1.0 / a[i]
                var = gd * gd * cov[dj, dj]
                if ai is not None:
                    ga = self.items.d[i, j] / a[i] ** 2
                    var += ga * ga * cov[ai, ai] + 2 * ga * gd * cov[ai, dj]
                out.iat[i, j + 1] = np.sqrt(max(var, 0.0))
        return out

    @property
    def se(self) -> pd.DataFrame:
        """Standard errors of :attr:`params` (NaN where not estimated)."""
        return self._se_frame(irt=True)

    @property
    def se_intercepts(self) -> pd.DataFrame:
        """Standard errors of :attr:`intercepts`."""
        return self._se_frame(irt=False)

    def response_index(self, data: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, pd.Index]:
        """Answers coded as this fit's category indices (columns matched by item id)."""
        frame = (
            data
            if isinstance(data, pd.DataFrame)
            else pd.DataFrame(np.asarray(data, dtype=float), columns=list(self.item_ids))
        )
        missing = [i for i in self.item_ids if i not in frame.columns]
        if missing:
            raise ValueError(f"the answers lack item columns {missing}")
        categories = dict(zip(self.item_ids, self.codes, strict=True))
        responses = prepare(frame[list(self.item_ids)], categories)
        return responses.index, responses.row_labels

    def theta(self, data: pd.DataFrame | np.ndarray, method: Method = "EAP") -> pd.DataFrame:
        """Theta (``theta``) and standard error (``se``) of each respondent."""
        index, labels = self.response_index(data)
        return score_theta(
            self.items, index, method, nodes=self.nodes, weights=self.weights, row_labels=labels
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "model": self.model,
            "n": self.n,
            "items": len(self.item_ids),
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "n_params": self.n_params,
            "converged": self.converged,
            "iterations": self.iterations,
            "se": self.se_note,
        }


def _natural_layout(fit: IRTFit) -> tuple[list[int | None], list[list[int]]]:
    """Positions of each item's a and d in the natural (a, d) vector of the covariance."""
    n_items = fit.items.n_items
    finite = np.isfinite(fit.items.d)
    slope = _slope_kind(fit.model, fit.se_note)
    if slope == "free":
        a_idx: list[int | None] = list(range(n_items))
        pos = n_items
    elif slope == "common":
        a_idx, pos = [0] * n_items, 1
    else:
        a_idx, pos = [None] * n_items, 0
    d_idx = []
    for i in range(n_items):
        k = int(finite[i].sum())
        d_idx.append(list(range(pos, pos + k)))
        pos += k
    return a_idx, d_idx


def _slope_kind(model: str, note: str) -> Literal["free", "common", "fixed"]:
    if model != "rasch":
        return "free"
    return "fixed" if "fixed slope" in note else "common"


def _natural_vector(items: ItemSet, slope: str) -> np.ndarray:
    finite = np.isfinite(items.d)
    head = {"free": items.a, "common": items.a[:1], "fixed": np.zeros(0)}[slope]
    return np.concatenate([head, items.d[finite]])


def _natural_items(x: np.ndarray, template: ItemSet, slope: str) -> ItemSet:
    n_items = template.n_items
    finite = np.isfinite(template.d)
    if slope == "free":
        a, rest = x[:n_items], x[n_items:]
    elif slope == "common":
        a, rest = np.full(n_items, x[0]), x[1:]
    else:
        a, rest = template.a, x
    d = np.full(template.d.shape, -np.inf)
    d[finite] = rest
    return ItemSet(template.kind, np.asarray(a, dtype=float), d)


def _observed_information(marginal: _Marginal, items: ItemSet, slope: str) -> np.ndarray:
    """Hessian of the marginal log-likelihood in (a, d), by central differences."""
    x0 = _natural_vector(items, slope)
    finite = np.isfinite(items.d)

    def gradient(x: np.ndarray) -> np.ndarray:
        it = _natural_items(x, items, slope)
        _, expected = marginal.estep(it)
        _, ga, gd = it.complete_gradient(expected, marginal.nodes)
        head = {"free": ga, "common": np.array([ga.sum()]), "fixed": np.zeros(0)}[slope]
        return np.concatenate([head, gd[finite]])

    size = x0.size
    hessian = np.zeros((size, size))
    for k in range(size):
        h = 1e-4 * max(1.0, abs(x0[k]))
        up, down = x0.copy(), x0.copy()
        up[k] += h
        down[k] -= h
        hessian[:, k] = (gradient(up) - gradient(down)) / (2 * h)
    return 0.5 * (hessian + hessian.T)


def fit(
    data: pd.DataFrame | np.ndarray,
    model: Model = "grm",
    **options: Any,
) -> IRTFit:
    """Calibrate items by marginal maximum likelihood (see :func:`_fit` for the options).

    ``data``: one row per respondent, one column per item (answer codes; NaN = missing).
    ``model``: ``grm``, ``gpcm``, ``2pl`` or ``rasch``. ``rasch`` estimates one common
    slope with theta ~ N(0, 1) (the same model as slope 1 with theta ~ N(0, sigma^2),
    sigma = the common slope); ``rasch_slope=1.0`` fixes it instead. ``categories`` maps
    an item to its answer codes (default: the codes observed); ``se=False`` skips the
    standard errors.

    BLAS runs single-threaded during the fit: the products are small and, on a busy
    machine, BLAS threads spinning between them made the fit several times slower.
    """
    with _single_thread():
        return _fit(data, model, **options)


def _single_thread() -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _fit(
    data: pd.DataFrame | np.ndarray,
    model: Model = "grm",
    *,
    categories: Mapping[str, Sequence[float]] | None = None,
    rasch_slope: float | None = None,
    quadrature: int = 61,
    se: bool = True,
    em_tol: float = 1e-4,
    max_em: int = 500,
    tol: float = 1e-7,
) -> IRTFit:
    """The calibration; ``quadrature`` nodes, EM and quasi-Newton tolerances."""
    model_l = model.lower()
    if model_l not in MODELS:
        raise ValueError(f"unknown IRT model {model!r}: use one of {', '.join(MODELS)}")
    responses = prepare(data, categories)
    widths = [len(c) for c in responses.codes]
    if model_l in ("2pl", "rasch") and max(widths) != 2:
        raise ValueError(f"{model_l} needs binary items (two answer codes); use grm or gpcm")
    kind: Kind = "gpcm" if model_l == "gpcm" else "grm"
    width = max(widths)
    slope: Literal["free", "common", "fixed"] = "free"
    note = "observed information (central differences of the analytic marginal gradient)"
    if model_l == "rasch":
        slope = "fixed" if rasch_slope is not None else "common"
        if rasch_slope is not None:
            note += f"; fixed slope {rasch_slope:g}"
    start = _start(responses, kind, width)
    finite = np.isfinite(start.d)
    layout = _Layout(kind, start.n_items, finite, slope, rasch_slope or 1.0)
    nodes, weights = normal_grid(quadrature)
    marginal = _Marginal(responses, width, nodes, weights)
    if slope == "fixed":
        start = ItemSet(kind, np.full(start.n_items, layout.fixed_a), start.d)
    x = layout.pack(start)

    # EM cycles (M-step: all items jointly, complete-data objective, analytic gradient)
    previous = -np.inf
    cycles = 0
    while cycles < max_em:
        cycles += 1
        ll, expected = marginal.estep(layout.unpack(x))

        def m_objective(v: np.ndarray, expected: np.ndarray = expected) -> tuple[float, np.ndarray]:
            it = layout.unpack(v)
            value, ga, gd = it.complete_gradient(expected, nodes)
            return -value, -layout.chain(v, ga, gd)

        x = minimize(m_objective, x, jac=True, method="L-BFGS-B", options={"maxiter": 20}).x
        if abs(ll - previous) < em_tol:
            break
        previous = ll

    # quasi-Newton on the marginal log-likelihood (gradient by Fisher's identity)
    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        it = layout.unpack(v)
        value, expected = marginal.estep(it)
        _, ga, gd = it.complete_gradient(expected, nodes)
        return -value, -layout.chain(v, ga, gd)

    result = minimize(
        objective,
        x,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 1000, "gtol": tol, "ftol": 1e-14},
    )
    items = layout.unpack(result.x)
    loglik, _ = marginal.estep(items)
    covariance = None
    if se:
        info = -_observed_information(marginal, items, slope)
        try:
            covariance = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            covariance = np.linalg.pinv(info)
            note += " (information matrix singular: pseudo-inverse)"
    return IRTFit(
        model=model_l,
        items=items,
        item_ids=responses.items,
        codes=responses.codes,
        loglik=loglik,
        n=responses.n,
        n_params=layout.size,
        converged=bool(result.success) or float(np.max(np.abs(result.jac))) < 1e-3,
        iterations=cycles + int(result.nit),
        nodes=nodes,
        weights=weights,
        covariance=covariance,
        se_note=note,
    )


def marginal_loglik(
    items: ItemSet,
    data: pd.DataFrame | np.ndarray,
    categories: Mapping[str, Sequence[float]] | None = None,
    quadrature: int = 61,
) -> float:
    """Marginal log-likelihood of ``data`` under given item parameters (N(0, 1) trait).

    Lets estimates from another program be judged on the same likelihood.
    """
    responses = prepare(data, categories)
    if len(responses.items) != items.n_items:
        raise ValueError("the data and the item parameters have different numbers of items")
    nodes, weights = normal_grid(quadrature)
    ll, _ = _Marginal(responses, items.max_categories, nodes, weights).estep(items)
    return ll
