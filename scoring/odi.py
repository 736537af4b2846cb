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


BAND_NAMES = text_categories(*(name for _, name in BANDS))
"""Band categories: code 0 = no score, code k = ``BANDS[k - 1]``."""


def band_code(total: float) -> int:
    """Band code of one total in % (0 when NaN): the first band whose upper bound holds it."""
    if total != total:
        return 0
    return next(k for k, (bound, _) in enumerate(BANDS, start=1) if total <= bound)


_MISSING = 64.0
"""Added per section as ``fmax(code, -64)``: an answered section adds its code (0..5), a
missing one adds -64. The block sum is S - 64 m (S = sum of answered codes <= 50 < 64,
m = missing sections), which identifies (S, m) uniquely."""
_OFFSET = int(_MISSING) * len(ITEMS)


def _decode(acc: int) -> tuple[int, int]:
    """(sum of answered codes, answered sections) from a block sum (see ``_MISSING``)."""
    missing = (int(_MISSING) - 1 - acc) // int(_MISSING)
    return acc + int(_MISSING) * missing, len(ITEMS) - missing


def _tables() -> tuple[np.ndarray, np.ndarray]:
    """(total in %, band code) for every block sum + offset; every (sum, answered) pair."""
    size = _OFFSET + 5 * len(ITEMS) + 1
    total = np.full(size, np.nan)
    codes = np.zeros(size, dtype=np.intp)
    for key in range(size):
        s, answered = _decode(key - _OFFSET)
        if answered >= MIN_ANSWERED and 0 <= s <= 5 * answered:
            total[key] = s / (5 * answered) * 100  # Fairbank & Pynsent: sum / (5 x answered)
            # band by exact integer arithmetic: total <= bound  <=>  100 s <= bound x 5 x answered
            codes[key] = next(
                k for k, (bound, _) in enumerate(BANDS, start=1) if 100 * s <= bound * 5 * answered
            )
    total.setflags(write=False)
    codes.setflags(write=False)
    return total, codes


TOTAL_BY_KEY, BAND_BY_KEY = _tables()


def band(total: np.ndarray) -> np.ndarray:
    """Band names of totals in % (object array, None where ``total`` is NaN)."""
    return BAND_NAMES.take([band_code(t) for t in np.asarray(total, dtype=float).ravel()])


def kernel(columns: Columns, value_set: str | None, out: Mapping[str, np.ndarray]) -> None:
    """``total`` (0..100 %, NaN when fewer than 8 sections answered) and ``band`` codes.

    Per section one ``fmax`` and one addition; the block sum then indexes the tables of
    every possible (sum, answered sections) pair, computed once by the published formula.
    """
    first = columns[ITEMS[0]]
    missing = constant(first.shape[0], -_MISSING)
    acc = np.fmax(first, missing)
    tmp = np.empty_like(acc)
    for item in ITEMS[1:]:
        np.fmax(columns[item], missing, out=tmp)
        acc += tmp
    acc += _OFFSET
    keys = as_index(acc)
    np.take(TOTAL_BY_KEY, keys, out=out["total"], mode="clip")
    np.take(BAND_BY_KEY, keys, out=out["band"], mode="clip")


SCORES = ("total", "band")
CATEGORIES = {"band": BAND_NAMES}

ALGORITHMS = {
    "odi": Algorithm(
        instrument_id="odi",
        algorithm_version="odi-2.1a-1.0",
        items=ITEMS,
        scores=SCORES,
        codes={item: frozenset(range(6)) for item in ITEMS},
        compute=kernel_compute(kernel, SCORES, CATEGORIES),
        text_scores=frozenset({"band"}),
        description="Oswestry Disability Index 2.1a (Fairbank & Pynsent 2000): total % and band.",
        kernel=kernel,
        categories=CATEGORIES,
    )
}
