"""Simulated answers from known item parameters (for recovery studies, tests and CAT)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.irt.models import ItemSet


def draw_categories(items: ItemSet, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One answer (category index) per person and item, (n, I)."""
    p = items.probs(np.asarray(theta, dtype=float))  # (I, K, n)
    cum = np.cumsum(p, axis=1)
    u = rng.random((items.n_items, 1, p.shape[2]))
    return (u > cum[:, :-1, :]).sum(axis=1).T.astype(np.int64)


def simulate(
    items: ItemSet,
    n: int,
    rng: np.random.Generator,
    *,
    item_ids: list[str] | None = None,
    missing: float = 0.0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` respondents with theta ~ N(0, 1): (answers coded 0..K-1, true theta).

    ``missing``: share of answers deleted completely at random.
    """
    theta = rng.standard_normal(n)
    answers = draw_categories(items, theta, rng).astype(float)
    if missing > 0:
        answers[rng.random(answers.shape) < missing] = np.nan
    ids = item_ids or [f"item{i + 1}" for i in range(items.n_items)]
    return pd.DataFrame(answers, columns=ids), theta


def random_items(
    n_items: int, n_categories: int, rng: np.random.Generator, kind: str = "grm"
) -> ItemSet:
    """Plausible generating parameters: a ~ U(0.8, 2.5); ordered thresholds spread over
    about -2.5..2 around an item location ~ N(0, 0.7)."""
    a = rng.uniform(0.8, 2.5, n_items)
    loc = rng.normal(0.0, 0.7, n_items)
    spread = np.linspace(-1.6, 1.4, n_categories - 1) if n_categories > 2 else np.zeros(1)
    b = loc[:, None] + spread[None, :] + rng.normal(0, 0.15, (n_items, n_categories - 1))
    b = np.sort(b, axis=1)
    return ItemSet.from_irt("gpcm" if kind == "gpcm" else "grm", a, b)
