"""Export cells of the answer types of FHIR Questionnaires (tabular export).

Numbers (integer codes, integers, decimals, quantities) stay numbers; yes/no is 1/0;
text codes, multi-selects (codes joined by ``;``), dates and dates with time are text
columns; free text (``string``, ``text``, an open-choice answer that is no option) is not
exported (its column does not exist, and an open-choice column holds only option codes)
unless the register allows it (``free_text=True``: text columns with the decrypted words).
"""

from __future__ import annotations

import math
from typing import Any

from instruments import Instrument, Item

FREE_TEXT = frozenset({"string", "text"})


def exported_items(definition: Instrument, *, free_text: bool = False) -> tuple[str, ...]:
    """Ids of the items that get a column (answerable; free text only with ``free_text``)."""
    return tuple(i.id for i in definition.questions if free_text or i.type not in FREE_TEXT)


def free_text_items(definition: Instrument) -> frozenset[str]:
    """Ids of the items whose answers may be the patient's own words (string, text,
    open-choice)."""
    return frozenset(
        i.id for i in definition.questions if i.type in FREE_TEXT or i.type == "open-choice"
    )


def text_items(definition: Instrument, *, free_text: bool = False) -> frozenset[str]:
    """Ids of the exported items whose column holds text, not numbers."""
    found = set()
    for item in definition.questions:
        text_codes = item.type in ("choice", "open-choice") and not all(
            isinstance(c, int) for c in item.codes
        )
        if text_codes or item.type in ("date", "dateTime") or getattr(item, "repeats", False):
            found.add(item.id)
        if free_text and (item.type in FREE_TEXT or item.type == "open-choice"):
            found.add(item.id)
    return frozenset(found) - FREE_TEXT


def cell(item: Item, value: Any, *, free_text: bool = False) -> Any:
    """The export cell of one stored answer (None for no answer, and for free text unless
    ``free_text``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, list):
        parts = [cell(item, v, free_text=free_text) for v in value]
        return ";".join(_text(p) for p in parts if p is not None) or None
    if item.type == "open-choice" and value not in item.codes and not free_text:
        return None  # the patient's own words
    if item.type in FREE_TEXT and not free_text:
        return None
    if free_text and item.type == "open-choice":
        return _text(value)  # a text column: codes and the patient's words
    if isinstance(value, int | float):
        number = float(value)
        return None if math.isnan(number) else number
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
