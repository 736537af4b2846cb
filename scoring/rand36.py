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

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np

from scoring.registry import Algorithm, Columns, as_index, constant

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
# GH items 33 and 35 count as coded (1..5), items 34 and 36 reversed (6 - code).

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


# ---------------------------------------------------------------- block-sum encoding
#
# For speed every scale is scored by one table lookup per row. Items of a scale that share
# a recode line (a + b x code; RAND Table 1) form a group. Per group the kernel adds
# ``fmax(code, -K)`` over its items: an answered item adds its code, a missing one -K, and
# K is larger than any sum of codes of the group, so the block sum S - K m tells both the
# sum S of the answered codes and the number m of missing items. The group keys of a scale
# are combined into one integer key; the tables below hold the scale value for every
# possible key, computed once from the scoring rules (mean of the answered items' RAND
# values, half rule; NEMC precodes for the PCS/MCS inputs).


@dataclass(frozen=True)
class _Group:
    """Items of one scale that share a RAND recode line ``intercept + slope x code``."""

    items: tuple[str, ...]
    intercept: float
    slope: float
    options: int

    @property
    def k(self) -> int:
        """Per missing item the block sum drops by K (> any sum of answered codes)."""
        return len(self.items) * self.options + 1

    @property
    def size(self) -> int:
        """Number of possible group keys (block sum + K x items runs 0..size-1)."""
        return len(self.items) * (self.k + self.options) + 1

    def decode(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sum of answered codes, number answered) for group keys."""
        acc = key - self.k * len(self.items)
        missing = (self.k - 1 - acc) // self.k
        return acc + self.k * missing, len(self.items) - missing


_OWN_GROUP = frozenset({"q01"})
"""Items kept in a group of their own: item 1 is precoded non-linearly for NEMC GH."""


def _groups(items: tuple[str, ...]) -> tuple[_Group, ...]:
    keyed: dict[tuple, list[str]] = {}
    for item in items:
        key = (*LINEAR[item], item if item in _OWN_GROUP else "")
        keyed.setdefault(key, []).append(item)
    return tuple(
        _Group(tuple(members), a, b, len(RECODE[members[0]]))
        for (a, b, _), members in keyed.items()
    )


GROUPS: dict[str, tuple[_Group, ...]] = {name: _groups(SCALE_ITEMS[name]) for name in SCALES}


def _strides(groups: tuple[_Group, ...]) -> tuple[int, ...]:
    strides, stride = [], 1
    for g in reversed(groups):
        strides.append(stride)
        stride *= g.size
    return tuple(reversed(strides))


def _group_stats(name: str) -> list[tuple[_Group, np.ndarray, np.ndarray]]:
    """Per group of scale ``name``: (group, sum of answered codes, answered) for every key."""
    groups = GROUPS[name]
    keys = np.arange(int(np.prod([g.size for g in groups])))
    stats = []
    for g, stride in zip(groups, _strides(groups), strict=True):
        s, n = g.decode((keys // stride) % g.size)
        stats.append((g, s.astype(np.float64), n.astype(np.float64)))
    return stats


def _possible(stats: list[tuple[_Group, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Keys that some answer pattern produces (answered codes within 1..options each)."""
    ok = np.ones(stats[0][1].shape[0], dtype=bool)
    for g, s, n in stats:
        ok &= (n >= 0) & (s >= n) & (s <= n * g.options)
    return ok


def _finish(total: np.ndarray, count: np.ndarray, needed: int, ok: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    mean[(count < needed) | ~ok] = np.nan
    mean.setflags(write=False)
    return mean


@cache
def rand_table(name: str, rule: MissingRule) -> np.ndarray:
    """RAND value of scale ``name`` by key: mean of the answered items' recodes (Table 1-2),
    NaN unless enough items are answered (``rule``)."""
    stats = _group_stats(name)
    total = sum(g.intercept * n + g.slope * s for g, s, n in stats)
    count = sum(n for _, _, n in stats)
    return _finish(total, count, _min_answered(len(SCALE_ITEMS[name]), rule), _possible(stats))


@cache
def nemc_table(name: str, rule: MissingRule) -> np.ndarray:
    """SF-36 v1 (NEMC) BP or GH on 0..100 by the scale's key (the PCS/MCS inputs).

    BP: item 21 precoded 6.0/5.4/4.2/3.1/2.2/1.0; item 22 precoded 6 if items 21 and 22 are
    both 1, else 5/4/3/2/1, or 6.0/4.75/3.5/2.25/1.0 when item 21 is missing; mean of the
    answered items, (mean - 1) / 5 x 100. GH: item 1 precoded 5.0/4.4/3.4/2.0/1.0, items 34
    and 36 reversed (6 - code), items 33 and 35 as coded; (mean - 1) / 4 x 100.
    """
    stats = _group_stats(name)
    by_items = {g.items: (s, n) for g, s, n in stats}
    ok = _possible(stats)
    needed = _min_answered(len(SCALE_ITEMS[name]), rule)
    if name == "BP":
        (c21, n21), (c22, n22) = by_items[("q21",)], by_items[("q22",)]
        i21, i22 = c21.astype(np.intp), c22.astype(np.intp)  # 0 when missing
        v21 = _NEMC_TABLES["q21"][i21]
        v22 = np.where(n21 > 0, _NEMC_TABLES["q22"][i22], _NEMC_TABLES["q22_alone"][i22])
        v22[(i21 == 1) & (i22 == 1)] = 6.0
        mean = _finish(v21 * n21 + v22 * n22, n21 + n22, needed, ok)
        return _rescale(mean, 1.0, 5.0)
    if name == "GH":
        c01, n01 = by_items[("q01",)]
        s_rev, n_rev = by_items[("q34", "q36")]
        s_str, n_str = by_items[("q33", "q35")]
        total = _NEMC_TABLES["q01"][c01.astype(np.intp)] * n01 + (6 * n_rev - s_rev) + s_str
        mean = _finish(total, n01 + n_rev + n_str, needed, ok)
        return _rescale(mean, 1.0, 4.0)
    raise ValueError(f"no NEMC scoring differs from RAND for {name}")


def _rescale(mean: np.ndarray, lowest: float, span: float) -> np.ndarray:
    out = (mean - lowest) / span * 100.0
    out.setflags(write=False)
    return out


_NEMC_TABLES = {
    name: np.array((0.0, *values))
    for name, values in {
        "q01": _NEMC_Q01,
        "q21": _NEMC_Q21,
        "q22": _NEMC_Q22_WITH_Q21,
        "q22_alone": _NEMC_Q22_ALONE,
    }.items()
}
"""NEMC precoded values indexed by code (0 = missing)."""


def scale_keys(columns: Columns, name: str) -> np.ndarray:
    """The key of scale ``name`` for every row (``columns``: float64, NaN = missing)."""
    groups = GROUPS[name]
    n = columns[groups[0].items[0]].shape[0]
    key: np.ndarray | None = None
    tmp = np.empty(n)
    for g, stride in zip(groups, _strides(groups), strict=True):
        fill = constant(n, -float(g.k))
        acc = np.fmax(columns[g.items[0]], fill)
        for item in g.items[1:]:
            np.fmax(columns[item], fill, out=tmp)
            acc += tmp
        acc += g.k * len(g.items)
        if stride != 1:
            acc *= stride
        if key is None:
            key = acc
        else:
            key += acc
    return as_index(key)


def _codes_to_columns(codes: dict[str, np.ndarray], items: tuple[str, ...]) -> dict:
    return {i: np.where(codes[i] > 0, codes[i], np.nan).astype(np.float64) for i in items}


def nemc_bodily_pain(codes: dict[str, np.ndarray], rule: MissingRule) -> np.ndarray:
    """SF-36 v1 BP on 0..100 from integer codes of q21 and q22 (0 = missing)."""
    keys = scale_keys(_codes_to_columns(codes, ("q21", "q22")), "BP")
    return nemc_table("BP", rule).take(keys)


def nemc_general_health(codes: dict[str, np.ndarray], rule: MissingRule) -> np.ndarray:
    """SF-36 v1 GH on 0..100 from integer codes of q01, q33..q36 (0 = missing)."""
    keys = scale_keys(_codes_to_columns(codes, SCALE_ITEMS["GH"]), "GH")
    return nemc_table("GH", rule).take(keys)


def _summary_weights() -> tuple[dict[str, tuple[float, float]], float, float]:
    """PCS = cP + sum(wP_s x scale_s), MCS likewise: the norm-based formula expanded."""
    weights = {s: (10.0 * phys / sd, 10.0 * ment / sd) for s, (_, sd, phys, ment) in NORMS.items()}
    c_p = 50.0 - sum(10.0 * phys * mean / sd for mean, sd, phys, _ in NORMS.values())
    c_m = 50.0 - sum(10.0 * ment * mean / sd for mean, sd, _, ment in NORMS.values())
    return weights, c_p, c_m


_WEIGHTS, _PCS_CONST, _MCS_CONST = _summary_weights()


def summaries(scales: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(PCS, MCS) from the eight SF-36 v1 scales (BP and GH NEMC-scored); NaN unless all 8:
    ``50 + 10 x sum((scale - mean) / SD x coefficient)`` (Ware, Kosinski & Keller 1994)."""
    physical = np.zeros_like(scales["PF"])
    mental = np.zeros_like(scales["PF"])
    for name, (mean, sd, phys, ment) in NORMS.items():
        z = (scales[name] - mean) / sd
        physical += z * phys
        mental += z * ment
    return 50.0 + 10.0 * physical, 50.0 + 10.0 * mental


def _kernel(columns: Columns, out: Mapping[str, np.ndarray], rule: MissingRule) -> None:
    n = columns[ITEMS[0]].shape[0]
    pcs, mcs = out["PCS"], out["MCS"]
    pcs[...] = _PCS_CONST
    mcs[...] = _MCS_CONST
    tmp = np.empty(n)
    for name in SCALES:
        keys = scale_keys(columns, name)
        value = out[name]
        np.take(rand_table(name, rule), keys, out=value, mode="clip")
        if name in ("BP", "GH"):  # the summaries take the NEMC-scored scale
            value = np.take(nemc_table(name, rule), keys, mode="clip")
        w_p, w_m = _WEIGHTS[name]
        np.multiply(value, w_p, out=tmp)
        pcs += tmp
        np.multiply(value, w_m, out=tmp)
        mcs += tmp
    intercept, slope = LINEAR["q02"]
    np.multiply(columns["q02"], slope, out=out["HT"])  # NaN stays NaN
    out["HT"] += intercept


def kernel(columns: Columns, value_set: str | None, out: Mapping[str, np.ndarray]) -> None:
    """Write the 11 RAND-36 scores (half rule) of validated columns into ``out``."""
    _kernel(columns, out, "half")


def compute(
    columns: Columns, value_set: str | None = None, *, missing_rule: MissingRule = "half"
) -> dict[str, np.ndarray]:
    """Score validated columns (float64, NaN = missing) into the 11 RAND-36 scores.

    ``missing_rule="half"`` (default, SF-36 manual) scores a scale when at least half its
    items are answered; ``"any"`` is RAND's rule (average whatever was answered).
    """
    if missing_rule not in ("half", "any"):
        raise ValueError(f"missing_rule must be 'half' or 'any' (got {missing_rule!r})")
    n = columns[ITEMS[0]].shape[0]
    out = {name: np.empty(n) for name in SCORES}
    _kernel(columns, out, missing_rule)
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
        kernel=kernel,
        description=(
            "RAND 36-Item Health Survey 1.0: eight 0-100 scales (RAND scoring, half rule), "
            "health transition HT (0-100, higher = better than a year ago), PCS/MCS "
            "(SF-36 v1 US 1990 norms, NEMC-scored BP/GH)."
        ),
    )
}
