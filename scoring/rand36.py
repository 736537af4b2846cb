"""RAND 36-Item Health Survey 1.0: eight scales, health transition, PCS and MCS.

Scales follow RAND's "Scoring Instructions for the 36-Item Short Form Survey" (Table 1
recodes every item to 0-100, Table 2 averages items into scales). The norm-based
summaries PCS and MCS use the SF-36 v1 US 1990 general-population means, SDs and factor
score coefficients (Ware, Kosinski & Keller 1994, SF-36 Physical and Mental Health Summary
Scales: A User's Manual). Those were estimated on SF-36 v1 (NEMC) scoring, which differs
from RAND's for bodily pain (items 21-22) and general health (item 1): the summaries are
computed from NEMC-scored BP and GH, the eight reported scales stay RAND-scored.
Sources and coefficients: ``docs/scoring.md``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from scoring.registry import Algorithm, Columns

ITEMS = tuple(f"q{i:02d}" for i in range(1, 37))
SCALES = ("PF", "RP", "BP", "GH", "VT", "SF", "RE", "MH")
SCORES = (*SCALES, "HT", "PCS", "MCS")

MissingRule = Literal["half", "any"]

# RAND Table 1: recode of each printed code (index = code) to 0..100; index 0 unused.
_DOWN5 = (100.0, 75.0, 50.0, 25.0, 0.0)  # items 1, 2, 20, 22, 34, 36
_UP3 = (0.0, 50.0, 100.0)  # items 3-12
_UP2 = (0.0, 100.0)  # items 13-19
_DOWN6 = (100.0, 80.0, 60.0, 40.0, 20.0, 0.0)  # items 21, 23, 26, 27, 30
_UP6 = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)  # items 24, 25, 28, 29, 31
_UP5 = (0.0, 25.0, 50.0, 75.0, 100.0)  # items 32, 33, 35


def _rand_recode(item: int) -> tuple[float, ...]:
    if item in (1, 2, 20, 22, 34, 36):
        return _DOWN5
    if 3 <= item <= 12:
        return _UP3
    if 13 <= item <= 19:
        return _UP2
    if item in (21, 23, 26, 27, 30):
        return _DOWN6
    if item in (24, 25, 28, 29, 31):
        return _UP6
    return _UP5  # 32, 33, 35


RECODE: dict[str, tuple[float, ...]] = {f"q{i:02d}": _rand_recode(i) for i in range(1, 37)}
"""RAND recode of codes 1..n (position 0 = code 1) to 0..100."""

# RAND Table 2: items of each scale.
SCALE_ITEMS: dict[str, tuple[str, ...]] = {
    "PF": tuple(f"q{i:02d}" for i in range(3, 13)),
    "RP": ("q13", "q14", "q15", "q16"),
    "BP": ("q21", "q22"),
    "GH": ("q01", "q33", "q34", "q35", "q36"),
    "VT": ("q23", "q27", "q29", "q31"),
    "SF": ("q20", "q32"),
    "RE": ("q17", "q18", "q19"),
    "MH": ("q24", "q25", "q26", "q28", "q30"),
}

# SF-36 v1 (NEMC) precoded item values used for the PCS/MCS inputs only (Ware et al. 1993,
# SF-36 Health Survey Manual and Interpretation Guide, scoring of BP and GH).
_NEMC_Q01 = (5.0, 4.4, 3.4, 2.0, 1.0)
_NEMC_Q21 = (6.0, 5.4, 4.2, 3.1, 2.2, 1.0)
_NEMC_Q22_WITH_Q21 = (5.0, 4.0, 3.0, 2.0, 1.0)  # code 1 scores 6 when q21 == 1
_NEMC_Q22_ALONE = (6.0, 4.75, 3.5, 2.25, 1.0)
_STRAIGHT5 = (1.0, 2.0, 3.0, 4.0, 5.0)
_REVERSE5 = (5.0, 4.0, 3.0, 2.0, 1.0)
_NEMC_ITEMS = ("q01", "q21", "q22", "q33", "q34", "q35", "q36")

# US 1990 general population (SF-36 v1): mean, SD, physical and mental factor coefficients
# (Ware, Kosinski & Keller 1994, Tables 8.1-8.2; same numbers in PharmCat/SF36HealthSurvey.jl).
NORMS: dict[str, tuple[float, float, float, float]] = {
    "PF": (84.52404, 22.89490, 0.42402, -0.22999),
    "RP": (81.19907, 33.79729, 0.35119, -0.12329),
    "BP": (75.49196, 23.55879, 0.31754, -0.09731),
    "GH": (72.21316, 20.16964, 0.24954, -0.01571),
    "VT": (61.05453, 20.86942, 0.02877, 0.23534),
    "SF": (83.59753, 22.37642, -0.00753, 0.26876),
    "RE": (81.29467, 33.02717, -0.19206, 0.43407),
    "MH": (74.84212, 18.01189, -0.22069, 0.48581),
}


def _linear(values: tuple[float, ...]) -> tuple[float, float]:
    """(a, b) with ``values[code - 1] == a + b * code``: every RAND recode is linear in the code."""
    slope = values[1] - values[0]
    intercept = values[0] - slope
    if any(v != intercept + slope * c for c, v in enumerate(values, start=1)):
        raise ValueError(f"recode {values} is not linear")
    return intercept, slope


LINEAR = {item: _linear(values) for item, values in RECODE.items()}
"""Item -> (a, b): RAND value = a + b x code."""


def _min_answered(n_items: int, rule: MissingRule) -> int:
    return (n_items + 1) // 2 if rule == "half" else 1


def _finish_mean(total: np.ndarray, count: np.ndarray, needed: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    mean[count < needed] = np.nan
    return mean


def _mean_of_answered(parts: list[tuple[np.ndarray, np.ndarray]], needed: int) -> np.ndarray:
    """Mean of answered recoded items (value 0 and answered 0 when missing); NaN when
    fewer than ``needed`` were answered."""
    total = parts[0][0].copy()
    count = parts[0][1].astype(np.float64)
    for value, answered in parts[1:]:
        total += value
        count += answered
    return _finish_mean(total, count, needed)


def _rand_scale(
    zeroed: dict[str, np.ndarray],
    answered: dict[str, np.ndarray],
    items: tuple[str, ...],
    rule: MissingRule,
) -> np.ndarray:
    """Mean RAND recode of the answered items: sum codes per (a, b) group, then a*n + b*S."""
    groups: dict[tuple[float, float], list[str]] = {}
    for item in items:
        groups.setdefault(LINEAR[item], []).append(item)
    total = np.zeros(zeroed[items[0]].shape[0])
    count = np.zeros_like(total)
    for (intercept, slope), members in groups.items():
        code_sum = zeroed[members[0]].copy()
        n = answered[members[0]].astype(np.float64)
        for item in members[1:]:
            code_sum += zeroed[item]
            n += answered[item]
        code_sum *= slope
        total += code_sum
        n_times_a = n * intercept
        total += n_times_a
        count += n
    return _finish_mean(total, count, _min_answered(len(items), rule))


_NEMC_TABLES = {
    name: np.array((0.0, *values))
    for name, values in {
        "q01": _NEMC_Q01, "q21": _NEMC_Q21, "q22": _NEMC_Q22_WITH_Q21,
        "q22_alone": _NEMC_Q22_ALONE, "q33": _STRAIGHT5, "q34": _REVERSE5,
        "q35": _STRAIGHT5, "q36": _REVERSE5,
    }.items()
}
"""NEMC precoded values indexed by code (0 = missing)."""


def nemc_bodily_pain(codes: dict[str, np.ndarray], rule: MissingRule) -> np.ndarray:
    """SF-36 v1 BP on 0..100: q21 and q22 precoded 1..6, mean imputed for one missing item."""
    q21, q22 = codes["q21"], codes["q22"]
    v21 = _NEMC_TABLES["q21"][q21]
    v22 = np.where(
        q21 > 0,
        _NEMC_TABLES["q22"][q22],
        _NEMC_TABLES["q22_alone"][q22],
    )
    v22[(q21 == 1) & (q22 == 1)] = 6.0
    mean = _mean_of_answered(
        [(v21, q21 > 0), (v22, q22 > 0)],
        _min_answered(2, rule),
    )
    return (mean - 1.0) / 5.0 * 100.0


def nemc_general_health(codes: dict[str, np.ndarray], rule: MissingRule) -> np.ndarray:
    """SF-36 v1 GH on 0..100: q01 precoded 5, 4.4, 3.4, 2, 1; q34, q36 reversed."""
    parts = [
        (_NEMC_TABLES[item][codes[item]], codes[item] > 0)
        for item in ("q01", "q33", "q34", "q35", "q36")
    ]
    mean = _mean_of_answered(parts, _min_answered(5, rule))
    return (mean - 1.0) / 4.0 * 100.0


def summaries(scales: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(PCS, MCS) from the eight SF-36 v1 scales (BP and GH NEMC-scored); NaN unless all 8."""
    physical = np.zeros_like(scales["PF"])
    mental = np.zeros_like(scales["PF"])
    for name, (mean, sd, phys, ment) in NORMS.items():
        z = (scales[name] - mean) / sd
        physical += z * phys
        mental += z * ment
    return 50.0 + 10.0 * physical, 50.0 + 10.0 * mental


def compute(
    columns: Columns, value_set: str | None = None, *, missing_rule: MissingRule = "half"
) -> dict[str, np.ndarray]:
    """Score validated columns (float64, NaN = missing) into the 11 RAND-36 scores.

    ``missing_rule="half"`` (default, SF-36 manual) scores a scale when at least half its
    items are answered; ``"any"`` is RAND's rule (average whatever was answered).
    """
    if missing_rule not in ("half", "any"):
        raise ValueError(f"missing_rule must be 'half' or 'any' (got {missing_rule!r})")
    zeroed = {item: np.fmax(columns[item], 0.0) for item in ITEMS}  # NaN -> 0
    answered = {item: zeroed[item] > 0.0 for item in ITEMS}  # codes start at 1
    out = {
        name: _rand_scale(zeroed, answered, SCALE_ITEMS[name], missing_rule) for name in SCALES
    }
    intercept, slope = LINEAR["q02"]
    out["HT"] = intercept + slope * columns["q02"]  # NaN stays NaN
    codes = {item: zeroed[item].astype(np.intp) for item in _NEMC_ITEMS}
    nemc = dict(out)
    nemc["BP"] = nemc_bodily_pain(codes, missing_rule)
    nemc["GH"] = nemc_general_health(codes, missing_rule)
    out["PCS"], out["MCS"] = summaries(nemc)
    return out


def _codes_of(item: str) -> frozenset[int]:
    return frozenset(range(1, len(RECODE[item]) + 1))


ALGORITHMS = {
    "rand36": Algorithm(
        instrument_id="rand36",
        algorithm_version="rand36-1.0",
        items=ITEMS,
        scores=SCORES,
        codes={item: _codes_of(item) for item in ITEMS},
        compute=compute,
        description=(
            "RAND 36-Item Health Survey 1.0: eight 0-100 scales (RAND scoring, half rule), "
            "health transition HT (0-100, higher = better than a year ago), PCS/MCS "
            "(SF-36 v1 US 1990 norms, NEMC-scored BP/GH)."
        ),
    )
}
