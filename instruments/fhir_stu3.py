"""Recognise FHIR STU3 Questionnaires and convert the simple ones to R4.

STU3 (3.0) differs from R4 in a few item elements: ``option`` (R4 ``answerOption``),
``options`` (a Reference; R4 ``answerValueSet`` is a canonical), ``enableWhen.hasAnswer``
(R4 operator ``exists``), ``enableWhen`` without ``operator`` (equality) where several
conditions mean *any* (R4 ``enableBehavior``), and ``initial[x]`` on the item. See
https://hl7.org/fhir/R4/questionnaire.html (differences from STU3).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

_INITIAL = (
    "initialBoolean", "initialDecimal", "initialInteger", "initialDate", "initialDateTime",
    "initialTime", "initialString", "initialUri", "initialAttachment", "initialCoding",
    "initialQuantity", "initialReference",
)  # fmt: skip


def _items(items: Any) -> Iterator[dict[str, Any]]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            yield item
            yield from _items(item.get("item"))


def stu3_signs(resource: Mapping[str, Any]) -> list[str]:
    """The STU3 elements found in a Questionnaire (empty: it reads as R4)."""
    signs: list[str] = []

    def note(sign: str) -> None:
        if sign not in signs:
            signs.append(sign)

    for item in _items(resource.get("item")):
        if "option" in item:
            note("item.option")
        if "options" in item:
            note("item.options")
        if any(key in item for key in _INITIAL):
            note("item.initial[x]")
        for cond in item.get("enableWhen") or []:
            if isinstance(cond, Mapping) and "hasAnswer" in cond:
                note("enableWhen.hasAnswer")
            elif isinstance(cond, Mapping) and "operator" not in cond:
                note("enableWhen without operator")
    return signs


def convert_stu3(resource: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An R4 copy of an STU3 Questionnaire, and what could not be converted (per linkId)."""
    result = copy.deepcopy(dict(resource))
    left: list[str] = []
    for item in _items(result.get("item")):
        where = f"linkId {item.get('linkId')!r}"
        if "option" in item:
            if "answerOption" in item:
                left.append(f"{where}: both option (STU3) and answerOption (R4)")
            else:
                item["answerOption"] = item.pop("option")
        if "options" in item:
            reference = item.pop("options")
            target = reference.get("reference") if isinstance(reference, Mapping) else None
            if isinstance(target, str) and target:
                item["answerValueSet"] = target
            else:
                left.append(f"{where}: options is not a reference to a ValueSet")
        for key in _INITIAL:
            item.pop(key, None)
        conditions = item.get("enableWhen")
        if not isinstance(conditions, list):
            continue
        for cond in conditions:
            if not isinstance(cond, dict) or "operator" in cond:
                continue
            if "hasAnswer" in cond:
                if any(k.startswith("answer") for k in cond):
                    left.append(f"{where}: enableWhen with both hasAnswer and an answer")
                    continue
                cond["operator"] = "exists"
                cond["answerBoolean"] = bool(cond.pop("hasAnswer"))
            else:
                cond["operator"] = "="
        if len(conditions) > 1 and "enableBehavior" not in item:
            item["enableBehavior"] = "any"  # STU3: enabled when any condition holds
    return result, left
