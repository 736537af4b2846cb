"""Value sets shipped with openprom for ``answerValueSet`` references outside a file.

They live in ``instruments/data/fhir_value_sets.json`` (one ValueSet resource per entry,
each with a ``_source`` note saying where its codes and displays were taken from).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VALUE_SETS_PATH = Path(__file__).resolve().parent / "data" / "fhir_value_sets.json"


@cache
def shipped_value_sets() -> dict[str, dict[str, Any]]:
    """Shipped ValueSets by canonical url (and by their other identifiers)."""
    entries = json.loads(VALUE_SETS_PATH.read_text(encoding="utf-8"))
    result: dict[str, dict[str, Any]] = {}
    for vs in entries:
        result[vs["url"]] = vs
        for alias in vs.get("_aliases", []):
            result[alias] = vs
    return result


def shipped_value_set(url: str) -> dict[str, Any] | None:
    """The shipped ValueSet with canonical ``url`` (version suffix ignored), or None."""
    return shipped_value_sets().get(url.split("|")[0])
