"""Evaluate the calculatedExpressions that are sums of option weights (ordinalValue).

FHIR forms often compute a total score in a calculatedExpression (SDC). openprom keeps every
expression as text, and evaluates the common ones that add up the weights (``ordinal()`` /
``weight()``, the R4 ``ordinalValue`` / SDC ``itemWeight``) of the chosen options:

* over the whole response, e.g. ``%resource.answers().value.ordinal().sum()`` (SDC PHQ-9
  example) or ``%resource.repeat(item).answer.weight().sum()`` (LHC-Forms);
* over named items, e.g. ``%resource.item.where(linkId='a').answer.value.ordinal() +
  %resource.item.where(linkId='b').answer.value.ordinal()`` or the same inside one ``.sum()``.

Anything else is not evaluated (:func:`ordinal_sum_items` gives None). Pure Python: no
FHIRPath engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from instruments.model import Instrument, Item

_WEIGHT = r"(?:\.value)?\.(?:ordinal|weight)\(\)"
_WHOLE = re.compile(
    r"^\s*%resource\s*\.\s*(?:answers\(\)|repeat\(item\)\s*\.\s*answer|descendants\(\)\s*"
    r"\.\s*answer|item\s*\.\s*answer)" + _WEIGHT + r"\s*\.\s*sum\(\)\s*$"
)
_ONE = (
    r"%resource\s*\.\s*(?:item|descendants\(\)|repeat\(item\))\s*\.\s*where\(\s*linkId\s*=\s*"
    r"'([^']+)'\s*\)\s*\.\s*answer" + _WEIGHT
)
_NAMED_PLUS = re.compile(r"^\s*" + _ONE + r"(?:\s*\+\s*" + _ONE + r")*\s*$")
_NAMED_LINK = re.compile(_ONE)


def ordinal_sum_items(inst: Instrument, item: Item) -> tuple[str, ...] | None:
    """Ids of the items whose option weights ``item``'s calculatedExpression adds up.

    None when the item has no expression or it is not a recognised sum of weights.
    """
    expression = item.calculated_expression
    if expression is None:
        return None
    weighted = [
        i.id
        for i in inst.items
        if i.id != item.id and i.options and any(o.ordinal is not None for o in i.options)
    ]
    if _WHOLE.match(expression):
        return tuple(weighted)
    if _NAMED_PLUS.match(expression):
        by_link = {i.fhir_link_id: i.id for i in inst.items}
        links = _NAMED_LINK.findall(expression)
        if all(link in by_link for link in links):
            return tuple(by_link[link] for link in links)
    return None


def calculated_values(inst: Instrument, answers: Mapping[str, Any]) -> dict[str, float | None]:
    """The value of every item whose calculatedExpression is a sum of option weights.

    ``answers`` maps item ids to normalised answers (see ``Item.validate_answer``; a
    multi-select answer is a list). The value is the sum of the weights of the chosen
    options; None when none of the summed items has an answer (never 0 for "nothing
    answered"). Options without a weight count as 0, as FHIRPath's ``sum()`` skips them.
    """
    values: dict[str, float | None] = {}
    for item in inst.items:
        ids = ordinal_sum_items(inst, item)
        if ids is None:
            continue
        total, answered = 0.0, False
        for item_id in ids:
            source = inst.item(item_id)
            answer = answers.get(item_id)
            chosen = answer if isinstance(answer, list) else [answer]
            for code in chosen:
                if code is None or code not in source.codes:
                    continue
                answered = True
                weight = source.option(code).ordinal
                total += float(weight) if weight is not None else 0.0
        values[item.id] = total if answered else None
    return values
