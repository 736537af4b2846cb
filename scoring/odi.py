"""Oswestry Disability Index 2.1a: percentage total and disability band.

Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25(22):2940-2953:
each of the ten sections scores 0..5; total = sum / (5 x answered sections) x 100. The
paper scores a form with one section missing this way; openprom scores it when at least
8 of 10 sections are answered (two missing at most) and reports NaN otherwise.
Bands (Fairbank & Pynsent, "interpretation of disability scores"): 0-20 % minimal,
21-40 % moderate, 41-60 % severe, 61-80 % crippled, 81-100 % bed-bound. With missing
sections totals are not integers; the band is chosen by upper bound inclusive
(total <= 20 minimal, 20 < total <= 40 moderate, ...), see ``docs/scoring.md``.
"""

from __future__ import annotations

import numpy as np

from scoring.registry import Algorithm, Columns

ITEMS = tuple(f"q{i:02d}" for i in range(1, 11))
MIN_ANSWERED = 8
BANDS = (
    (20.0, "minimal"),
    (40.0, "moderate"),
    (60.0, "severe"),
    (80.0, "crippled"),
    (100.0, "bed-bound"),
)
"""(inclusive upper bound of the total in %, band name)."""


_BAND_NAMES = np.array([None] + [name for _, name in BANDS], dtype=object)


def band(total: np.ndarray) -> np.ndarray:
    """Band names (object array, None where ``total`` is NaN).

    The bands are 20 points wide, so band k (1..5) holds 20(k-1) < total <= 20k, with 0 in
    band 1: index = max(ceil(total / 20), 1).
    """
    index = np.ceil(total / 20.0)
    np.maximum(index, 1.0, out=index)  # NaN stays NaN
    index = np.nan_to_num(index, nan=0.0).astype(np.intp)
    return _BAND_NAMES[index]


def compute(columns: Columns, value_set: str | None = None) -> dict[str, np.ndarray]:
    """``total`` (0..100 %, NaN when fewer than 8 sections answered) and ``band``."""
    first = columns[ITEMS[0]]
    total = np.fmax(first, 0.0)  # NaN (missing) -> 0; codes are 0..5
    answered = (first == first).view(np.int8).copy()  # False for NaN
    for item in ITEMS[1:]:
        col = columns[item]
        total += np.fmax(col, 0.0)
        answered += (col == col).view(np.int8)
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.divide(total, answered)
    percent *= 20.0  # sum / (5 x answered) x 100
    percent[answered < MIN_ANSWERED] = np.nan
    return {"total": percent, "band": band(percent)}


ALGORITHMS = {
    "odi": Algorithm(
        instrument_id="odi",
        algorithm_version="odi-2.1a-1.0",
        items=ITEMS,
        scores=("total", "band"),
        codes={item: frozenset(range(6)) for item in ITEMS},
        compute=compute,
        text_scores=frozenset({"band"}),
        description="Oswestry Disability Index 2.1a (Fairbank & Pynsent 2000): total % and band.",
    )
}
