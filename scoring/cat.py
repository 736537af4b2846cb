"""COPD Assessment Test (CAT): total 0..40 and impact level.

CAT Healthcare Professional User Guide (GlaxoSmithKline, issue 3, 2016): the total is
the sum of the eight items (0..5 each); impact levels low (< 10), medium (10-20), high
(21-30) and very high (> 30). A total of exactly 10 is medium. We found no published rule
for scoring incomplete forms (guide; Jones et al. Eur Respir J 2009;34:648), so the total
is missing when any item is missing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from scoring.registry import (
    Algorithm,
    Columns,
    as_index,
    constant,
    kernel_compute,
    text_categories,
)

ITEMS = tuple(f"q{i:02d}" for i in range(1, 9))
IMPACT = ((9.0, "low"), (20.0, "medium"), (30.0, "high"), (40.0, "very high"))
"""(inclusive upper bound of the total, impact level); totals are integers."""


IMPACT_NAMES = text_categories(*(name for _, name in IMPACT))
"""Impact categories: code 0 = no score, code k = ``IMPACT[k - 1]``."""

IMPACT_BY_KEY = np.array(
    [0] + [next(k for k, (bound, _) in enumerate(IMPACT, start=1) if t <= bound)
           for t in range(41)],
    dtype=np.intp,
)  # fmt: skip
"""Impact code by total + 1 (position 0 = missing total)."""
IMPACT_BY_KEY.setflags(write=False)


def impact(total: np.ndarray) -> np.ndarray:
    """Impact level names (object array, None where ``total`` is NaN); totals are 0..40."""
    keys = np.fmax(np.asarray(total, dtype=float), -1.0) + 1.0  # NaN -> 0
    return IMPACT_NAMES.take(IMPACT_BY_KEY.take(keys.astype(np.intp)))


def kernel(columns: Columns, value_set: str | None, out: Mapping[str, np.ndarray]) -> None:
    """``total`` (sum, NaN when any item is missing: NaN propagates) and ``impact`` codes."""
    total = out["total"]
    np.add(columns[ITEMS[0]], columns[ITEMS[1]], out=total)
    for item in ITEMS[2:]:
        total += columns[item]
    keys = np.fmax(total, constant(total.shape[0], -1.0))  # NaN -> -1
    keys += 1.0
    np.take(IMPACT_BY_KEY, as_index(keys), out=out["impact"], mode="clip")


SCORES = ("total", "impact")
CATEGORIES = {"impact": IMPACT_NAMES}

ALGORITHMS = {
    "cat": Algorithm(
        instrument_id="cat",
        algorithm_version="cat-1.0",
        items=ITEMS,
        scores=SCORES,
        codes={item: frozenset(range(6)) for item in ITEMS},
        compute=kernel_compute(kernel, SCORES, CATEGORIES),
        text_scores=frozenset({"impact"}),
        description="COPD Assessment Test: total 0-40 and impact level (CAT user guide 2016).",
        kernel=kernel,
        categories=CATEGORIES,
    )
}
