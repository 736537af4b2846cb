"""Questionnaires that Helsenorge's renderer (refero) shows as intended: ``--profile helsenorge``.

refero reads one language per Questionnaire (no translation extension), so the result is a
Bundle with one Questionnaire per language of the instrument, as structor saves
multi-language forms. Compared with the plain export (:func:`to_questionnaire`):

* ``language`` is ``nb-NO`` / ``nn-NO`` / ``en-GB``; texts carry no translation extensions;
* help texts are ``type: text`` child items with itemControl ``help`` (refero's
  ``isHelpItem`` only accepts ``text`` items);
* pages are top-level groups with itemControl ``step`` (refero shows a form as steps when a
  top-level item has that code);
* every answer option carries ``ordinalValue`` on its ``valueCoding`` (where refero's
  scoring and slider read it); an integer-coded option's code is its weight unless the
  file gives one;
* an integer item with both end labels (a VAS) becomes a ``slider``: a choice item with one
  option per step, the end labels as ``SliderLabels`` LabelLeft/LabelRight item codes and
  ``SliderDisplayType`` so the step shows its number. A marker extension lets the import
  turn it back into the integer item;
* a calculatedExpression is also written as Helsenorge's ``sdf-calculatedExpression``
  (the one refero evaluates; the FHIRPath is copied as is);
* the sdf metadata structor writes for Helsenorge publishing (profile, language tag,
  security label, sidebar/information message, presentation buttons, authentication
  requirement, who may answer, save capability).

What was checked in refero's and structor's source is in docs/fhir.md.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from instruments.fhir_export import to_questionnaire
from instruments.fhir_terms import (
    EXT_NO_ID,
    EXT_RESOURCE_ID,
    EXT_SLIDER_OF,
    EXT_STEP_ADDED,
    ITEM_CONTROL,
    ORDINAL_VALUE,
    SDF_CALCULATED,
    SLIDER_DISPLAY_TYPE,
    SLIDER_LABELS,
    TRANSLATION,
)
from instruments.model import Instrument, Item

LANGUAGE_TAGS = {"nb": "nb-NO", "nn": "nn-NO", "en": "en-GB"}
LANGUAGE_NAMES = {"nb": "Bokmål", "nn": "Nynorsk", "en": "English"}
SDF_PROFILE = "http://ehelse.no/fhir/StructureDefinition/sdf-Questionnaire"
SECURITY_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.7618"  # tjenesteområde; 3 = Helsehjelp (Full)
SLIDER_ORDINAL = "ordnialValue"  # refero's SliderDisplayTypes.OrdinalValue, spelled so
SDF = "http://helsenorge.no/fhir/StructureDefinition/"
EHELSE_SDF = "http://ehelse.no/fhir/StructureDefinition/"
SDF_EXTENSIONS = [
    {
        "url": SDF + "sdf-sidebar",
        "valueCoding": {"system": "http://helsenorge.no/fhir/ValueSet/sdf-sidebar", "code": "1"},
    },
    {
        "url": SDF + "sdf-information-message",
        "valueCoding": {
            "system": "http://helsenorge.no/fhir/ValueSet/sdf-information-message",
            "code": "1",
        },
    },
    {
        "url": SDF + "sdf-presentationbuttons",
        "valueCoding": {
            "system": "http://helsenorge.no/fhir/ValueSet/presentationbuttons",
            "code": "sticky",
        },
    },
    {
        "url": EHELSE_SDF + "sdf-authenticationrequirement",
        "valueCoding": {
            "system": "http://ehelse.no/fhir/ValueSet/AuthenticationRequirement",
            "code": "3",
        },
    },
    {
        "url": EHELSE_SDF + "sdf-canbeperformedby",
        "valueCoding": {"system": "http://ehelse.no/fhir/ValueSet/CanBePerformedBy", "code": "1"},
    },
    {
        "url": SDF + "sdf-save-capabilities",
        "valueCoding": {
            "system": "http://helsenorge.no/fhir/ValueSet/sdf-save-capabilities",
            "code": "1",
        },
    },
]


def to_helsenorge_bundle(inst: Instrument) -> dict[str, Any]:
    """A Bundle (type collection) with one Helsenorge Questionnaire per language."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": to_helsenorge_questionnaire(inst, lang)} for lang in inst.languages],
    }


def to_helsenorge_questionnaire(inst: Instrument, lang: str) -> dict[str, Any]:
    """``inst`` in one language as refero renders it (see the module docstring)."""
    q = to_questionnaire(inst, lang=lang)
    _drop_translations(q)
    tag = LANGUAGE_TAGS[lang]
    base_id = q.get("id") or inst.id.replace("_", "-")
    q["id"] = f"{base_id}-{tag}"[:64]
    q["language"] = tag
    q["meta"] = {
        "profile": [SDF_PROFILE],
        "tag": [{"system": "urn:ietf:bcp:47", "code": tag, "display": LANGUAGE_NAMES[lang]}],
        "security": [{"system": SECURITY_SYSTEM, "code": "3", "display": "Helsehjelp (Full)"}],
    }
    q["extension"] = [*q["extension"], *copy.deepcopy(SDF_EXTENSIONS)]
    if inst.fhir is not None and inst.fhir.id is None:
        q["extension"].append({"url": EXT_NO_ID, "valueBoolean": True})
    elif inst.fhir is not None:
        q["extension"].append({"url": EXT_RESOURCE_ID, "valueString": inst.fhir.id})
    if inst.fhir is None:
        q["publisher"] = inst.licence.holder
    by_link = {i.fhir_link_id: i for i in inst.items}
    stepped = len(inst.pages) > 1
    for entry in q["item"]:
        if entry["type"] == "group" and stepped and not _has_control(entry):
            added = {"url": EXT_STEP_ADDED, "valueBoolean": True}
            entry["extension"] = [*entry.get("extension", []), _control("step"), added]
    for item in _walk(q["item"]):
        source = by_link.get(item["linkId"])
        if item["type"] == "display" and _control_code(item) in ("help", "help-link"):
            item["type"] = "text"
            item["readOnly"] = True
        if source is None:
            continue
        if source.calculated_expression is not None:
            # refero evaluates Helsenorge's own extension (valueString), not the SDC one
            calculated = {"url": SDF_CALCULATED, "valueString": source.calculated_expression}
            item["extension"] = [*item.get("extension", []), calculated]
        if source.type == "integer" and {"min", "max"} <= set(source.anchors):
            _as_slider(item, source, lang, inst)
        for option, model in zip(item.get("answerOption", []), source.options, strict=False):
            weight = model.ordinal if model.ordinal is not None else model.code
            if isinstance(weight, int | float) and not isinstance(weight, bool):
                _ordinal_on_coding(option, weight)
    return q


def _as_slider(item: dict[str, Any], source: Item, lang: str, inst: Instrument) -> None:
    """An integer VAS as refero's slider: a choice with one coded option per step."""
    low, high = int(source.min or 0), int(source.max if source.max is not None else 100)
    system = f"urn:openprom:{inst.id}:{source.id}"
    item["type"] = "choice"
    item["answerOption"] = [
        {
            "valueCoding": {
                "extension": [{"url": ORDINAL_VALUE, "valueDecimal": n}],
                "system": system,
                "code": str(n),
                "display": str(n),
            }
        }
        for n in range(low, high + 1)
    ]
    item["code"] = [
        *item.get("code", []),
        {"system": SLIDER_DISPLAY_TYPE, "code": SLIDER_ORDINAL, "display": "Display value"},
        {"system": SLIDER_LABELS, "code": "LabelLeft", "display": source.anchors["min"][lang]},
        {"system": SLIDER_LABELS, "code": "LabelRight", "display": source.anchors["max"][lang]},
    ]
    marker = {
        "type": "integer",
        "min": source.min,
        "max": source.max,
        "item_control": source.item_control,
    }
    extensions = [
        e
        for e in item.get("extension", [])
        if e["url"] not in (ITEM_CONTROL,) and not e["url"].endswith(("minValue", "maxValue"))
    ]
    extensions += [
        _control("slider"),
        {"url": EXT_SLIDER_OF, "valueString": json.dumps(marker, sort_keys=True)},
    ]
    item["extension"] = extensions
    item["item"] = [c for c in item.get("item", []) if _control_code(c) not in ("lower", "upper")]
    if not item["item"]:
        del item["item"]


def _ordinal_on_coding(option: dict[str, Any], weight: float) -> None:
    coding = option.get("valueCoding")
    if coding is None:
        return
    value = float(weight)
    option["extension"] = [e for e in option.get("extension", []) if e["url"] != ORDINAL_VALUE]
    if not option["extension"]:
        del option["extension"]
    rest = [e for e in coding.get("extension", []) if e["url"] != ORDINAL_VALUE]
    number = int(value) if value.is_integer() else value
    coding["extension"] = [*rest, {"url": ORDINAL_VALUE, "valueDecimal": number}]


def _drop_translations(node: Any) -> None:
    """Remove ``_element`` parts that only hold translation extensions."""
    if isinstance(node, dict):
        for key in [k for k in node if k.startswith("_")]:
            extensions = node[key].get("extension", []) if isinstance(node[key], dict) else []
            rest = [e for e in extensions if e.get("url") != TRANSLATION]
            if rest:
                node[key]["extension"] = rest
            else:
                del node[key]
        for value in node.values():
            _drop_translations(value)
    elif isinstance(node, list):
        for value in node:
            _drop_translations(value)


def _walk(items: list[dict[str, Any]]):
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


def _control(code: str) -> dict[str, Any]:
    return {
        "url": ITEM_CONTROL,
        "valueCodeableConcept": {
            "coding": [{"system": "http://hl7.org/fhir/questionnaire-item-control", "code": code}]
        },
    }


def _control_code(item: dict[str, Any]) -> str | None:
    for ext in item.get("extension", []):
        if ext.get("url") == ITEM_CONTROL:
            for coding in ext.get("valueCodeableConcept", {}).get("coding", []):
                return coding.get("code")
    return None


def _has_control(item: dict[str, Any]) -> bool:
    return _control_code(item) is not None
