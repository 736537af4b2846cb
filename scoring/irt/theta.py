"""Person scores (theta) for known item parameters: EAP, MAP and ML."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from scoring.irt.data import indicator
from scoring.irt.models import TINY, ItemSet
from scoring.irt.quadrature import normal_grid

Method = Literal["EAP", "MAP", "ML"]


def log_likelihood_grid(items: ItemSet, index: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Log-likelihood of each answer pattern at each node, (n, Q); missing answers skipped."""
    width = items.max_categories
    logp = items.log_probs(nodes).reshape(items.n_items * width, nodes.size)
    logp = np.where(np.isfinite(logp), logp, np.log(TINY))
    return indicator(index, width) @ logp


def posterior(
    items: ItemSet, index: np.ndarray, nodes: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior weights at the nodes (n, Q) and the log marginal likelihood of each row."""
    loglik = log_likelihood_grid(items, index, nodes)
    top = loglik.max(axis=1, keepdims=True)
    joint = np.exp(loglik - top) * weights
    total = joint.sum(axis=1, keepdims=True)
    return joint / total, (np.log(total) + top)[:, 0]


def eap(
    items: ItemSet, index: np.ndarray, nodes: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of theta for each row."""
    post, _ = posterior(items, index, nodes, weights)
    mean = post @ nodes
    sd = np.sqrt(np.maximum(post @ nodes**2 - mean**2, 0.0))
    return mean, sd


def _score_and_info(
    items: ItemSet, index: np.ndarray, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """d log L / d theta and the test (Fisher) information at each row's own theta."""
    p = items.probs(theta)  # (I, K, n)
    dp = items.dprobs(theta)
    n = index.shape[0]
    rows = np.arange(n)
    score = np.zeros(n)
    info = np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        item_info = np.where(p > 1e-12, dp**2 / np.maximum(p, TINY), 0.0).sum(axis=1)  # (I, n)
    for i in range(items.n_items):
        answered = index[:, i] >= 0
        r = rows[answered]
        c = index[answered, i]
        score[r] += dp[i, c, r] / np.maximum(p[i, c, r], TINY)
        info[r] += item_info[i, r]
    return score, info


def _mode(
    items: ItemSet, index: np.ndarray, prior_sd: float | None, bound: float = 6.0
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mode (MAP, prior N(0, prior_sd)) or maximum likelihood (prior None).

    Starts from the best node of a fine grid, then Fisher scoring with steps capped at
    0.5; SE = 1 / sqrt(test information [+ prior precision]) at the estimate.
    """
    fine = np.linspace(-bound, bound, 241)
    loglik = log_likelihood_grid(items, index, fine)
    precision = 0.0 if prior_sd is None else 1.0 / prior_sd**2
    if prior_sd is not None:
        loglik = loglik - 0.5 * precision * fine**2
    theta = fine[np.argmax(loglik, axis=1)]
    for _ in range(100):
        score, info = _score_and_info(items, index, theta)
        score = score - precision * theta
        step = np.clip(score / np.maximum(info + precision, 1e-12), -0.5, 0.5)
        theta = theta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    _, info = _score_and_info(items, index, theta)
    with np.errstate(divide="ignore"):
        se = 1.0 / np.sqrt(info + precision)
    return theta, se


def _extreme_patterns(items: ItemSet, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose every answer is the lowest (resp. highest) category: ML is -inf (+inf)."""
    answered = index >= 0
    top = items.n_categories[None, :] - 1
    low = answered.any(axis=1) & np.all(~answered | (index == 0), axis=1)
    high = answered.any(axis=1) & np.all(~answered | (index == top), axis=1)
    return low, high


def score_theta(
    items: ItemSet,
    index: np.ndarray,
    method: Method = "EAP",
    *,
    nodes: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    prior_sd: float = 1.0,
    row_labels: pd.Index | None = None,
) -> pd.DataFrame:
    """Theta and its standard error for each row of category indices (``-1`` = missing).

    EAP: posterior mean and SD over the quadrature (prior N(0, ``prior_sd``)). MAP:
    posterior mode, SE from the information plus the prior precision. ML: likelihood
    maximum, SE from the test information; ``-inf``/``+inf`` (SE ``inf``) when every
    answer is in the lowest/highest category. Rows without any answer get NaN.
    """
    method_u = method.upper()
    index = np.asarray(index, dtype=np.int64)
    if method_u == "EAP":
        if nodes is None or weights is None:
            nodes, weights = normal_grid(sd=prior_sd)
        theta, se = eap(items, index, nodes, weights)
    elif method_u == "MAP":
        theta, se = _mode(items, index, prior_sd)
    elif method_u == "ML":
        theta, se = _mode(items, index, None)
        low, high = _extreme_patterns(items, index)
        theta = np.where(low, -np.inf, np.where(high, np.inf, theta))
        se = np.where(low | high, np.inf, se)
    else:
        raise ValueError(f"unknown theta method {method!r}: use 'EAP', 'MAP' or 'ML'")
    none = ~(index >= 0).any(axis=1)
    theta = np.where(none, np.nan, theta)
    se = np.where(none, np.nan, se)
    return pd.DataFrame({"theta": theta, "se": se}, index=row_labels)
