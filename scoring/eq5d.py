"""EQ-5D-5L and EQ-5D-3L scoring: ``index`` (value set), ``vas`` (as given), ``profile``.

Value-set coefficients live in ``instruments/data/eq5d_value_sets.csv`` (one row per model
term, with its source). For each value set the index of every one of the 5^5 (or 3^5)
health states is computed once from the model and cached as a lookup table; scoring a
table is then one integer key per row and one table lookup (a missing dimension makes
the key 0, which looks up NaN / None, so incomplete rows need no separate pass). The
index is kept unrounded.

Model terms (all additive, as in the papers):

* ``start``: value from which decrements are taken (1, or 0.9755 for SE-2020);
* ``any_problem``: constant applied when any dimension is above level 1;
* ``any_level3``: the 3L "N3" term, applied when any dimension is at level 3;
* ``any_level5``: the 5L "N5" term, applied when any dimension is at level 5;
* ``MO2`` .. ``AD5``: decrement of a dimension at a level (level 1 = 0); or, for sets
  estimated with dimension x level parameters (Norway), ``MO`` .. ``AD`` (decrement at
  level 5) times ``level2`` .. ``level5`` (share of that decrement at each level).

``UK-crosswalk`` (van Hout et al. 2012) is published as a table of all 3125 state values
and is read as such from ``instruments/data/eq5d_uk_crosswalk.csv`` (3 decimals, as published).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import numpy as np

from scoring.registry import Algorithm, Columns, ValueSet, as_index, constant, kernel_compute

ALGORITHM_VERSION = "eq5d-1.0"
DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")
DATA_DIR = Path(__file__).resolve().parent.parent / "instruments" / "data"
DATA_FILE = DATA_DIR / "eq5d_value_sets.csv"
TABLE_FILES = {("eq5d5l", "UK-crosswalk"): DATA_DIR / "eq5d_uk_crosswalk.csv"}
"""Value sets published as a full table of state values rather than as a model."""
_FLAG_TERMS = ("start", "any_problem", "any_level3", "any_level5")
_LEVELS = {"eq5d5l": 5, "eq5d3l": 3}


@cache
def _coefficients() -> dict[tuple[str, str], dict[str, float]]:
    """(instrument, value set) -> term -> coefficient, read from the CSV once."""
    table: dict[tuple[str, str], dict[str, float]] = {}
    with DATA_FILE.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = (row["instrument"], row["value_set"])
            table.setdefault(key, {})[row["term"]] = float(row["coefficient"])
    return table


@cache
def _sources() -> dict[tuple[str, str], str]:
    with DATA_FILE.open(newline="", encoding="utf-8") as fh:
        sources = {(r["instrument"], r["value_set"]): r["source"] for r in csv.DictReader(fh)}
    for key, path in TABLE_FILES.items():
        with path.open(newline="", encoding="utf-8") as fh:
            sources[key] = next(csv.DictReader(fh))["source"]
    return sources


def _table_values(instrument_id: str, path: Path) -> np.ndarray:
    """Read a full state -> index table and return it in lookup order (checked complete)."""
    levels = _LEVELS[instrument_id]
    values = np.full(levels**5, np.nan)
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            digits = [int(c) - 1 for c in row["state"]]
            pos = int(np.ravel_multi_index(digits, (levels,) * 5))
            values[pos] = float(row["index"])
    if np.isnan(values).any():
        raise ValueError(f"{path.name} lacks {int(np.isnan(values).sum())} health states")
    return values


def _all_states(levels: int) -> np.ndarray:
    """Every health state as rows of 5 levels, in lookup order (MO slowest, AD fastest)."""
    grid = np.indices((levels,) * 5).reshape(5, -1).T
    return grid + 1


@cache
def lookup_table(instrument_id: str, value_set: str) -> np.ndarray:
    """Index value of every health state of ``value_set`` (read-only float64 array)."""
    levels = _LEVELS[instrument_id]
    if (instrument_id, value_set) in TABLE_FILES:
        table = _table_values(instrument_id, TABLE_FILES[(instrument_id, value_set)])
        table.setflags(write=False)
        return table
    try:
        terms = _coefficients()[(instrument_id, value_set)]
    except KeyError:
        raise ValueError(f"no coefficients for {instrument_id} value set {value_set!r}") from None
    allowed = set(_FLAG_TERMS) | set(DIMENSIONS)
    allowed |= {f"{d}{lvl}" for d in DIMENSIONS for lvl in range(2, levels + 1)}
    allowed |= {f"level{lvl}" for lvl in range(2, levels + 1)}
    unknown = set(terms) - allowed
    if unknown:
        raise ValueError(f"unknown terms in {value_set!r}: {sorted(unknown)}")
    states = _all_states(levels)
    values = np.full(states.shape[0], terms.get("start", 1.0))
    for j, dim in enumerate(DIMENSIONS):
        decrement = np.zeros(levels + 1)
        for lvl in range(2, levels + 1):
            decrement[lvl] = _decrement(terms, dim, lvl)
        values += decrement[states[:, j]]
    values += terms.get("any_problem", 0.0) * (states > 1).any(axis=1)
    values += terms.get("any_level3", 0.0) * (states == 3).any(axis=1)
    values += terms.get("any_level5", 0.0) * (states == 5).any(axis=1)
    values.setflags(write=False)
    return values


def _decrement(terms: dict[str, float], dim: str, level: int) -> float:
    if f"{dim}{level}" in terms:
        return terms[f"{dim}{level}"]
    try:
        return terms[dim] * terms[f"level{level}"]
    except KeyError:
        raise ValueError(f"value set lacks a coefficient for {dim} level {level}") from None


@cache
def _profiles(levels: int) -> np.ndarray:
    states = _all_states(levels)
    return np.array(["".join(map(str, s)) for s in states], dtype=object)


@cache
def _keyed_profiles(levels: int) -> np.ndarray:
    """Profile by row key: ``[None, "11111", "11112", ...]`` (key 0 = a dimension missing)."""
    profiles = np.array([None, *_profiles(levels)], dtype=object)
    profiles.setflags(write=False)
    return profiles


@cache
def keyed_index(instrument_id: str, value_set: str) -> np.ndarray:
    """Index value by row key (see :func:`row_keys`): ``[NaN, value of 11111, ...]``."""
    values = np.concatenate(([np.nan], lookup_table(instrument_id, value_set)))
    values.setflags(write=False)
    return values


def row_keys(columns: Columns, levels: int) -> np.ndarray:
    """Row key of every response: 1 + the state's position in the lookup table (MO slowest,
    AD fastest), or 0 when a dimension is missing.

    Horner's rule in float64 (exact for these small integers) on the levels; a missing
    level (NaN) makes the key NaN, which one ``fmax`` turns into 0.
    """
    first = columns[DIMENSIONS[0]]
    n = first.shape[0]
    acc = np.multiply(first, constant(n, float(levels)))
    for dim in DIMENSIONS[1:-1]:
        acc += columns[dim]
        acc *= levels
    acc += columns[DIMENSIONS[-1]]
    acc -= sum(levels**k for k in range(5)) - 1  # 11111 -> 1
    np.fmax(acc, constant(n, 0.0), out=acc)  # NaN -> 0
    return as_index(acc)


def _kernel(
    instrument_id: str, columns: Columns, value_set: str | None, out: Mapping[str, np.ndarray]
) -> None:
    keys = row_keys(columns, _LEVELS[instrument_id])
    table = keyed_index(instrument_id, value_set or DEFAULTS[instrument_id])
    np.take(table, keys, out=out["index"], mode="clip")  # keys are always in range
    out["profile"][...] = keys  # code = key; categories = profile by key
    np.copyto(out["vas"], columns["VAS"])


def _value_sets(instrument_id: str, descriptions: dict[str, str]) -> tuple[ValueSet, ...]:
    src = _sources()
    return tuple(
        ValueSet(name, src[(instrument_id, name)], description)
        for name, description in descriptions.items()
    )


DEFAULTS = {"eq5d5l": "NO", "eq5d3l": "UK"}

_5L_SETS = {
    "NO": "Norwegian EQ-5D-5L (Garratt 2024), hybrid cTTO/DCE, dimension x level model; "
    "11111 = 1, 55555 = -0.453 (default)",
    "England": "England EQ-5D-5L (Devlin 2018), hybrid cTTO/DCE; 11111 = 1, 55555 = -0.285",
    "DK": "Danish EQ-5D-5L (Jensen 2021), cTTO; 11111 = 1, 55555 = -0.758",
    "SE": "Swedish EQ-5D-5L social value set (Sun 2022), hybrid; 11111 = 1, 55555 = -0.314",
    "SE-2020": "Swedish experience-based VAS EQ-5D-5L (Burström 2020); 11111 = 0.9755, "
    "55555 = 0.2433",
    "UK": "UK EQ-5D-5L (Rowen 2026); 11111 = 1, 55555 = -0.567 (not the England 2018 set)",
    "UK-crosswalk": "van Hout 2012 crosswalk of the 5L to the UK 3L set (Dolan 1997): expected "
    "3L value under 5L->3L response probabilities; published 3-decimal table; 55555 = -0.594",
}
_3L_SETS = {
    "UK": "UK EQ-5D-3L TTO (Dolan 1997), N3 model; 11111 = 1, 33333 = -0.594",
    "DK": "Danish EQ-5D-3L TTO (Wittrup-Jensen 2009); 11111 = 1, 33333 = -0.624",
}


def _algorithm(instrument_id: str, descriptions: dict[str, str]) -> Algorithm:
    levels = _LEVELS[instrument_id]
    codes = {d: frozenset(range(1, levels + 1)) for d in DIMENSIONS}
    codes["VAS"] = frozenset(range(0, 101))

    def kernel(columns: Columns, value_set: str | None, out: Mapping[str, np.ndarray]) -> None:
        _kernel(instrument_id, columns, value_set, out)

    scores = ("index", "vas", "profile")
    categories = {"profile": _keyed_profiles(levels)}
    return Algorithm(
        instrument_id=instrument_id,
        algorithm_version=ALGORITHM_VERSION,
        items=(*DIMENSIONS, "VAS"),
        scores=scores,
        codes=codes,
        compute=kernel_compute(kernel, scores, categories),
        value_sets=_value_sets(instrument_id, descriptions),
        default_value_set=DEFAULTS[instrument_id],
        text_scores=frozenset({"profile"}),
        description=f"EQ-5D-{levels}L index (value set), respondent's own EQ VAS, profile",
        kernel=kernel,
        categories=categories,
    )


ALGORITHMS = {
    "eq5d5l": _algorithm("eq5d5l", _5L_SETS),
    "eq5d3l": _algorithm("eq5d3l", _3L_SETS),
}
