"""Export cells of the answer types of FHIR Questionnaires (tabular export).

Numbers (integer codes, integers, decimals, quantities) stay numbers; yes/no is 1/0;
text codes, multi-selects (codes joined by ``;``), dates and dates with time are text
columns; free text (``string``, ``text``, an open-choice answer that is no option) is never
exported (its column does not exist, and an open-choice column holds only option codes).
"""

from __future__ import annotations

import math
from typing import Any

from instruments import Instrument, Item

FREE_TEXT = frozenset({"string", "text"})


def exported_items(definition: Instrument) -> tuple[str, ...]:
    """Ids of the items that get a column (answerable, not free text)."""
    return tuple(i.id for i in definition.questions if i.type not in FREE_TEXT)


def text_items(definition: Instrument) -> frozenset[str]:
    """Ids of the exported items whose column holds text, not numbers."""
    found = set()
    for item in definition.questions:
        text_codes = item.type in ("choice", "open-choice") and not all(
            isinstance(c, int) for c in item.codes
        )
        if text_codes or item.type in ("date", "dateTime") or getattr(item, "repeats", False):
            found.add(item.id)
    return frozenset(found) - FREE_TEXT


def cell(item: Item, value: Any) -> Any:
    """The export cell of one stored answer (None for no answer or free text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, list):
        parts = [cell(item, v) for v in value]
        return ";".join(_text(p) for p in parts if p is not None) or None
    if item.type == "open-choice" and value not in item.codes:
        return None  # the patient's own words
    if isinstance(value, int | float):
        number = float(value)
        return None if math.isnan(number) else number
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
