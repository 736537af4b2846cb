"""Fixed quadrature grid for the latent trait (rectangular, as mirt's default)."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

DEFAULT_POINTS = 61
DEFAULT_BOUND = 6.0


def normal_grid(
    n_points: int = DEFAULT_POINTS, bound: float = DEFAULT_BOUND, mean: float = 0.0, sd: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Equally spaced nodes on ``[-bound, bound]`` and normalised N(mean, sd) weights."""
    if n_points < 3:
        raise ValueError("the quadrature needs at least 3 points")
    nodes = np.linspace(-bound, bound, n_points)
    weights = norm.pdf(nodes, loc=mean, scale=sd)
    return nodes, weights / weights.sum()
