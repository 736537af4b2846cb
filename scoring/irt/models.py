"""Item response functions for unidimensional IRT models, vectorised over items and theta.

Two response functions cover the four models of :func:`scoring.irt.fit`:

* ``grm`` -- Samejima's graded response model. Categories ``0..K-1``; the boundary
  curves are ``P*(X >= j) = logistic(a*theta + d_j)`` for ``j = 1..K-1`` with
  ``d_1 > d_2 > ...`` and ``P(X = c) = P*_c - P*_{c+1}``. A 2PL item is a GRM item with
  two categories; a Rasch item is a 2PL item whose ``a`` is shared by every item.
* ``gpcm`` -- Muraki's generalized partial credit model,
  ``P(X = c) ∝ exp(c*a*theta + d_1 + ... + d_c)``.

The slope-intercept form (``a``, ``d``) is what is estimated; the usual IRT form
``b_j = -d_j / a`` (thresholds / step difficulties) is what is reported. Items with fewer
categories than the widest item are padded with ``d = -inf`` (probability 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit, log_softmax

Kind = Literal["grm", "gpcm"]
TINY = 1e-300


@dataclass(frozen=True)
class ItemSet:
    """Parameters of a set of items under one response function.

    ``a``: (I,) slopes; ``d``: (I, K-1) intercepts, ``-inf`` beyond an item's own
    categories; ``kind``: ``grm`` or ``gpcm``.
    """

    kind: Kind
    a: np.ndarray
    d: np.ndarray

    @property
    def n_items(self) -> int:
        """Number of items."""
        return int(self.a.shape[0])

    @property
    def n_categories(self) -> np.ndarray:
        """Number of categories of each item, (I,)."""
        return 1 + np.isfinite(self.d).sum(axis=1)

    @property
    def max_categories(self) -> int:
        """Width of the category axis (the widest item)."""
        return int(self.d.shape[1]) + 1

    @property
    def b(self) -> np.ndarray:
        """Thresholds in the IRT form ``b = -d / a`` (NaN where padded), (I, K-1)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            b = -self.d / self.a[:, None]
        return np.where(np.isfinite(self.d), b, np.nan)

    @classmethod
    def from_irt(cls, kind: Kind, a: np.ndarray, b: np.ndarray) -> ItemSet:
        """Build from slopes and thresholds (NaN thresholds = fewer categories)."""
        a = np.asarray(a, dtype=float)
        b = np.atleast_2d(np.asarray(b, dtype=float))
        d = np.where(np.isnan(b), -np.inf, -a[:, None] * b)
        return cls(kind, a, d)

    def subset(self, index: np.ndarray) -> ItemSet:
        """The items at ``index``."""
        return ItemSet(self.kind, self.a[index], self.d[index])

    # -- response functions -------------------------------------------------------------
    def probs(self, theta: np.ndarray) -> np.ndarray:
        """Category probabilities, (I, K, T) for theta of shape (T,)."""
        theta = np.asarray(theta, dtype=float)
        if self.kind == "grm":
            star = expit(self.a[:, None, None] * theta + self.d[:, :, None])
            ones = np.ones((self.n_items, 1, theta.size))
            cum = np.concatenate([ones, star, np.zeros_like(ones)], axis=1)
            return np.clip(cum[:, :-1] - cum[:, 1:], 0.0, 1.0)
        return np.exp(self._gpcm_logits(theta))

    def log_probs(self, theta: np.ndarray) -> np.ndarray:
        """Log category probabilities, (I, K, T); -inf for padded categories."""
        if self.kind == "gpcm":
            return self._gpcm_logits(np.asarray(theta, dtype=float))
        with np.errstate(divide="ignore"):
            p = self.probs(theta)
            return np.where(p > 0, np.log(np.maximum(p, TINY)), -np.inf)

    def _gpcm_logits(self, theta: np.ndarray) -> np.ndarray:
        k = self.max_categories
        cum_d = np.concatenate([np.zeros((self.n_items, 1)), np.cumsum(self.d, axis=1)], axis=1)
        z = np.arange(k)[None, :, None] * self.a[:, None, None] * theta + cum_d[:, :, None]
        with np.errstate(invalid="ignore"):
            return log_softmax(z, axis=1)

    def dprobs(self, theta: np.ndarray) -> np.ndarray:
        """Derivative of the category probabilities with respect to theta, (I, K, T)."""
        theta = np.asarray(theta, dtype=float)
        if self.kind == "grm":
            star = expit(self.a[:, None, None] * theta + self.d[:, :, None])
            w = star * (1.0 - star)
            zeros = np.zeros((self.n_items, 1, theta.size))
            w = np.concatenate([zeros, w, zeros], axis=1)
            return self.a[:, None, None] * (w[:, :-1] - w[:, 1:])
        p = self.probs(theta)
        cats = np.arange(self.max_categories)[None, :, None]
        mean = (p * cats).sum(axis=1, keepdims=True)
        return self.a[:, None, None] * p * (cats - mean)

    def information(self, theta: np.ndarray) -> np.ndarray:
        """Fisher information of each item at each theta, (I, T)."""
        p = self.probs(theta)
        dp = self.dprobs(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 1e-12, dp**2 / np.maximum(p, TINY), 0.0)
        return terms.sum(axis=1)

    def expected_score(self, theta: np.ndarray) -> np.ndarray:
        """Expected category index (0..K-1) of each item at each theta, (I, T)."""
        p = self.probs(theta)
        return (p * np.arange(self.max_categories)[None, :, None]).sum(axis=1)

    # -- estimation ---------------------------------------------------------------------
    def complete_gradient(
        self, counts: np.ndarray, theta: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Value and gradient of ``sum counts * log P`` (the EM complete-data objective).

        ``counts``: (I, K, Q) expected numbers of respondents in each category at each
        quadrature node. Returns (value, d/da (I,), d/dd (I, K-1)). At the posterior of
        the current parameters this gradient equals the gradient of the marginal
        log-likelihood (Fisher's identity).
        """
        logp = self.log_probs(theta)
        with np.errstate(invalid="ignore"):
            value = float(np.where(counts > 0, counts * logp, 0.0).sum())
        if self.kind == "grm":
            p = self.probs(theta)
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(counts > 0, counts / np.maximum(p, TINY), 0.0)
            star = expit(self.a[:, None, None] * theta + self.d[:, :, None])
            w = star * (1.0 - star)
            h = w * (g[:, 1:] - g[:, :-1])  # boundary j: category j minus category j-1
            grad_d = h.sum(axis=2)
            grad_a = (h * theta).sum(axis=(1, 2))
        else:
            p = np.exp(logp)
            n_q = counts.sum(axis=1)  # (I, Q)
            cats = np.arange(self.max_categories)[None, :, None]
            mean = (p * cats).sum(axis=1)
            grad_a = (theta * ((counts * cats).sum(axis=1) - n_q * mean)).sum(axis=1)
            at_least = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1][:, 1:]  # (I, K-1, Q)
            p_at_least = np.cumsum(p[:, ::-1], axis=1)[:, ::-1][:, 1:]
            grad_d = (at_least - n_q[:, None, :] * p_at_least).sum(axis=2)
        grad_d = np.where(np.isfinite(self.d), grad_d, 0.0)
        return value, grad_a, grad_d
