"""COPD Assessment Test (CAT): total 0..40 and impact level.

CAT Healthcare Professional User Guide (GlaxoSmithKline, issue 3, 2016): the total is
the sum of the eight items (0..5 each); impact levels low (< 10), medium (10-20), high
(21-30) and very high (> 30). A total of exactly 10 is medium. We found no published rule
for scoring incomplete forms (guide; Jones et al. Eur Respir J 2009;34:648), so the total
is missing when any item is missing.
"""

from __future__ import annotations

import numpy as np

from scoring.registry import Algorithm, Columns

ITEMS = tuple(f"q{i:02d}" for i in range(1, 9))
IMPACT = ((9.0, "low"), (20.0, "medium"), (30.0, "high"), (40.0, "very high"))
"""(inclusive upper bound of the total, impact level); totals are integers."""


_IMPACT_BY_TOTAL = np.array(
    [None] + [next(name for bound, name in IMPACT if t <= bound) for t in range(41)],
    dtype=object,
)
"""Impact level by total + 1 (position 0 = missing total)."""


def impact(total: np.ndarray) -> np.ndarray:
    """Impact level names (object array, None where ``total`` is NaN); totals are 0..40."""
    index = np.nan_to_num(total + 1.0, nan=0.0).astype(np.intp)
    return _IMPACT_BY_TOTAL[index]


def compute(columns: Columns, value_set: str | None = None) -> dict[str, np.ndarray]:
    """``total`` (sum, NaN when any item is missing: NaN propagates) and ``impact``."""
    total = columns[ITEMS[0]].copy()
    for item in ITEMS[1:]:
        total += columns[item]
    return {"total": total, "impact": impact(total)}


ALGORITHMS = {
    "cat": Algorithm(
        instrument_id="cat",
        algorithm_version="cat-1.0",
        items=ITEMS,
        scores=("total", "impact"),
        codes={item: frozenset(range(6)) for item in ITEMS},
        compute=compute,
        text_scores=frozenset({"impact"}),
        description="COPD Assessment Test: total 0-40 and impact level (CAT user guide 2016).",
    )
}
