"""Registry of scoring algorithms: one :class:`Algorithm` per instrument id.

Each instrument module (``scoring/eq5d.py``, ``scoring/rand36.py`` ...) builds its
:class:`Algorithm` and is listed in :data:`_MODULES`; nothing here knows about Flask or
databases.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np

Columns = Mapping[str, np.ndarray]
"""One float64 array per item id, NaN where the answer is missing."""

ComputeFn = Callable[[Columns, "str | None"], dict[str, np.ndarray]]


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
