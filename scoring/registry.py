"""Registry of scoring algorithms: one :class:`Algorithm` per instrument id.

Each instrument module (``scoring/eq5d.py``, ``scoring/rand36.py`` ...) builds its
:class:`Algorithm` and is listed in :data:`_MODULES`; nothing here knows about Flask or
databases.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache

import numpy as np

Columns = Mapping[str, np.ndarray]
"""One float64 array per item id, NaN where the answer is missing."""

ComputeFn = Callable[[Columns, "str | None"], dict[str, np.ndarray]]

KernelFn = Callable[[Columns, "str | None", Mapping[str, np.ndarray]], None]
"""Write every score of a block of validated columns into preallocated ``out`` arrays:
float64 for numbers (NaN = missing), ``intp`` codes for text scores (position in the
algorithm's ``categories`` array; code 0 means None)."""


@dataclass(frozen=True)
class ValueSet:
    """A named value set (EQ-5D tariff) with its source citation."""

    name: str
    source: str
    description: str = ""


@dataclass(frozen=True)
class Algorithm:
    """How one instrument is scored.

    ``codes`` lists the possible answers of every item; ``compute`` takes validated
    columns (float64, NaN = missing) and returns one array per score name in ``scores``
    (float64 with NaN for numbers; object arrays with None for text scores).

    An algorithm may also give a ``kernel`` (see :data:`KernelFn`) that writes into
    preallocated arrays, with the text scores as integer codes into ``categories``;
    :func:`scoring.score_table` then uses it (no per-block copies, text built once).
    The built-in instruments define ``compute`` from their kernel (:func:`kernel_compute`),
    so both paths run the same code.
    """

    instrument_id: str
    algorithm_version: str
    items: tuple[str, ...]
    scores: tuple[str, ...]
    codes: Mapping[str, frozenset[int]]
    compute: ComputeFn
    value_sets: tuple[ValueSet, ...] = ()
    default_value_set: str | None = None
    text_scores: frozenset[str] = field(default_factory=frozenset)
    description: str = ""
    kernel: KernelFn | None = None
    categories: Mapping[str, np.ndarray] = field(default_factory=dict)

    def value_set(self, name: str | None) -> str | None:
        """Resolve ``name`` (None = default); ValueError names the known sets."""
        if not self.value_sets:
            if name is not None:
                raise ValueError(f"{self.instrument_id} takes no value set (got {name!r})")
            return None
        if name is None:
            return self.default_value_set
        names = [v.name for v in self.value_sets]
        if name not in names:
            raise ValueError(
                f"unknown value set {name!r} for {self.instrument_id} (known: {', '.join(names)})"
            )
        return name


def text_categories(*names: str) -> np.ndarray:
    """A read-only object array ``[None, *names]`` (code 0 = missing)."""
    arr = np.array([None, *names], dtype=object)
    arr.setflags(write=False)
    return arr


@lru_cache(maxsize=64)
def constant(n: int, value: float) -> np.ndarray:
    """A read-only float64 array of ``n`` copies of ``value``.

    numpy's binary ufuncs with a scalar operand (e.g. ``np.fmax(x, -64.0)``) run about twice
    as slow as with an array of the same shape on these machines, so kernels pass these.
    """
    arr = np.full(n, value)
    arr.setflags(write=False)
    return arr


def as_index(keys: np.ndarray) -> np.ndarray:
    """Integer-valued float64 keys as an ``intp`` index array (via int32: about twice as
    fast as a direct float64 -> int64 cast here). Keys must be below 2**31."""
    return keys.astype(np.int32).astype(np.intp)


def kernel_compute(
    kernel: KernelFn, scores: tuple[str, ...], categories: Mapping[str, np.ndarray]
) -> ComputeFn:
    """A ``compute`` function that allocates the outputs, runs ``kernel`` once and turns
    text-score codes into their categories (the one-call form of the same code)."""

    def compute(columns: Columns, value_set: str | None = None) -> dict[str, np.ndarray]:
        n = next(iter(columns.values())).shape[0] if columns else 0
        out = {
            name: np.empty(n, dtype=np.intp if name in categories else np.float64)
            for name in scores
        }
        kernel(columns, value_set, out)
        for name, table in categories.items():
            out[name] = table.take(out[name])
        return out

    return compute


_MODULES: dict[str, str] = {
    "eq5d5l": "scoring.eq5d",
    "eq5d3l": "scoring.eq5d",
    "rand36": "scoring.rand36",
    "odi": "scoring.odi",
    "cat": "scoring.cat",
    "gspeq": "scoring.gspeq",
}


def instrument_ids() -> tuple[str, ...]:
    """Ids of the instruments that have a scoring algorithm."""
    return tuple(_MODULES)


@cache
def get(instrument_id: str) -> Algorithm:
    """The :class:`Algorithm` of ``instrument_id``; KeyError names the known ids."""
    try:
        module_name = _MODULES[instrument_id]
    except KeyError:
        raise KeyError(
            f"no scoring algorithm for {instrument_id!r} (known: {', '.join(_MODULES)})"
        ) from None
    module = importlib.import_module(module_name)
    return module.ALGORITHMS[instrument_id]
