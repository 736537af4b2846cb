"""Definition -> HL7 FHIR R4 Questionnaire (see :func:`to_questionnaire`)."""

from __future__ import annotations

import json
import re
from typing import Any

from instruments.fhir_terms import (
    ANCHOR_CONTROLS,
    CALCULATED,
    EXT_ANCHORS,
    EXT_HELP,
    EXT_INSTRUMENT_ID,
    EXT_ITEM_ID,
    EXT_ITEM_ORDER,
    EXT_KIND,
    EXT_LANGUAGES,
    EXT_LICENCE,
    EXT_NO_LANGUAGE,
    EXT_NOT_APPLICABLE,
    EXT_PAGE_ID,
    EXT_SCALES,
    EXT_SCORING,
    EXT_SOURCE,
    EXT_VERSION,
    HASH_SYSTEM,
    ITEM_CONTROL,
    ITEM_CONTROL_SYSTEM,
    MAX_VALUE,
    MIN_VALUE,
    ORDINAL_VALUE,
    TRANSLATION,
    UNIT,
    URL_PREFIX,
)
from instruments.model import Coding, EnableWhen, Instrument, Item, Option, Text


def to_questionnaire(inst: Instrument, lang: str = "nb") -> dict[str, Any]:
    """``inst`` as a FHIR R4 Questionnaire (JSON-ready dict) with texts in ``lang``.

    The other languages of the file are ``translation`` extensions on the texts. An
    instrument imported from FHIR keeps its url, identifiers, version, name, status,
    publisher, code, linkIds and code systems. Raises ValueError when ``lang`` is not one
    of the instrument's languages.
    """
    if lang not in inst.languages:
        raise ValueError(f"{inst.id} has no language {lang!r} (has {', '.join(inst.languages)})")
    out = _Exporter(inst, lang)
    meta = inst.fhir
    extensions = [
        {"url": EXT_KIND, "valueCode": inst.kind},
        _json_ext(EXT_LANGUAGES, list(inst.languages)),
    ]
    if meta is not None:
        extensions.append({"url": EXT_INSTRUMENT_ID, "valueString": inst.id})
        if meta.version != inst.version:
            extensions.append({"url": EXT_VERSION, "valueString": inst.version})
        if meta.language is None:
            extensions.append({"url": EXT_NO_LANGUAGE, "valueBoolean": True})
    if inst.source is not None:
        extensions.append(_json_ext(EXT_SOURCE, dict(inst.source)))
    lic = inst.licence
    extensions.append(
        _json_ext(EXT_LICENCE, {"holder": lic.holder, "url": lic.url, "required": lic.required})
    )
    definition = inst.to_definition()
    if "scales" in definition:
        extensions.append(_json_ext(EXT_SCALES, definition["scales"]))
    extensions.append(_json_ext(EXT_SCORING, definition["scoring"]))
    page_order = [iid for page in inst.pages for iid in page.items]
    if inst.pages and page_order != [i.id for i in inst.items]:
        extensions.append(_json_ext(EXT_ITEM_ORDER, [i.id for i in inst.items]))

    identifiers = [_identifier(i.system, i.value) for i in meta.identifier] if meta else []
    identifiers.append({"system": HASH_SYSTEM, "value": inst.content_hash})
    resource: dict[str, Any] = {"resourceType": "Questionnaire"}
    if meta is None or meta.id:
        resource["id"] = (meta.id if meta and meta.id else inst.id.replace("_", "-"))[:64]
    resource["language"] = _language_tag(inst, lang)
    resource["extension"] = extensions
    url = meta.url if meta else URL_PREFIX + inst.id
    if url:
        resource["url"] = url
    resource["identifier"] = identifiers
    version = meta.version if meta else inst.version
    if version:
        resource["version"] = version
    if meta is None or meta.name:
        resource["name"] = (
            meta.name if meta and meta.name else re.sub(r"[^A-Za-z0-9_]", "_", inst.id.upper())
        )
    resource.update(out.text("title", inst.title))
    resource["status"] = meta.status if meta and meta.status else "active"
    resource["subjectType"] = ["Patient"]
    if meta and meta.publisher:
        resource["publisher"] = meta.publisher
    if inst.intro is not None:
        resource.update(out.text("description", inst.intro))
    resource["copyright"] = lic.notice
    if meta and meta.code:
        resource["code"] = [_coding(c) for c in meta.code]
    resource["item"] = out.items()
    return resource


def _identifier(system: str | None, value: str) -> dict[str, Any]:
    return {"system": system, "value": value} if system else {"value": value}


def _coding(coding: Coding) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if coding.system:
        data["system"] = coding.system
    data["code"] = coding.code
    if coding.display is not None:
        data["display"] = coding.display
    return data


def _language_tag(inst: Instrument, lang: str) -> str:
    """The imported file's own tag (``en-US``) when it is this language, else ``lang``."""
    tag = inst.fhir.language if inst.fhir else None
    if tag and tag.replace("_", "-").split("-")[0].lower() in {lang, "no" if lang == "nb" else ""}:
        return tag
    return lang


def item_control_ext(code: str) -> dict[str, Any]:
    """A questionnaire-itemControl extension with ``code``."""
    return {
        "url": ITEM_CONTROL,
        "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL_SYSTEM, "code": code}]},
    }


class _Exporter:
    """Builds the ``item`` tree of one Questionnaire in one main language."""

    def __init__(self, inst: Instrument, lang: str):
        self.inst = inst
        self.lang = lang
        self.others = [x for x in inst.languages if x != lang]
        self.by_id = {i.id: i for i in inst.items}

    def text(self, name: str, text: Text) -> dict[str, Any]:
        """``{name: main text, _name: translations}`` for a FHIR string element."""
        result: dict[str, Any] = {name: text[self.lang]}
        if self.others:
            result["_" + name] = {
                "extension": [
                    {
                        "url": TRANSLATION,
                        "extension": [
                            {"url": "lang", "valueCode": other},
                            {"url": "content", "valueString": text[other]},
                        ],
                    }
                    for other in self.others
                ]
            }
        return result

    def items(self) -> list[dict[str, Any]]:
        if not self.inst.pages:
            return [self.item(i) for i in self.inst.items]
        taken = {i.fhir_link_id for i in self.inst.items}
        groups = []
        for page in self.inst.pages:
            loose = page.link_id is None and page.title is None
            if self.inst.fhir is not None and loose and page.id == f"page_{page.items[0]}":
                # items that stood outside any group in the imported file (see the import)
                groups += [self.item(self.by_id[iid]) for iid in page.items]
                continue
            link_id = page.link_id or page.id
            if link_id in taken:
                link_id = f"{page.id}-page"
            taken.add(link_id)
            group: dict[str, Any] = {"linkId": link_id}
            if page.coding:
                group["code"] = [_coding(c) for c in page.coding]
            extensions = []
            if link_id != page.id and (page.link_id is None or _derived_id(link_id) != page.id):
                extensions.append({"url": EXT_PAGE_ID, "valueString": page.id})
            if page.item_control is not None:
                extensions.append(item_control_ext(page.item_control))
            if extensions:
                group = {"extension": extensions, **group}
            if page.title is not None:
                group.update(self.text("text", page.title))
            group["type"] = "group"
            group["item"] = [self.item(self.by_id[iid]) for iid in page.items]
            groups.append(group)
        return groups

    def item(self, item: Item) -> dict[str, Any]:
        extensions: list[dict[str, Any]] = []
        kind = "text" if item.type == "display" and item.item_control == "sidebar" else item.type
        q: dict[str, Any] = {"linkId": item.fhir_link_id}
        if item.coding:
            q["code"] = [_coding(c) for c in item.coding]
        if item.prefix is not None:
            q["prefix"] = item.prefix
        q.update(self.text("text", item.text))
        q["type"] = kind
        if item.enable_when:
            q["enableWhen"] = [self.condition(c) for c in item.enable_when]
            if len(item.enable_when) > 1:
                q["enableBehavior"] = item.enable_behavior
        if item.required:
            q["required"] = True
        if item.repeats:
            q["repeats"] = True
        if item.max_length is not None:
            q["maxLength"] = item.max_length
        if item.options:
            q["answerOption"] = [self.option(item, o) for o in item.options]
        if item.link_id is not None and _derived_id(item.link_id) != item.id:
            extensions.append({"url": EXT_ITEM_ID, "valueString": item.id})
        if item.item_control is not None:
            extensions.append(item_control_ext(item.item_control))
        kind_of_bound = "valueInteger" if item.type == "integer" else "valueDecimal"
        if item.min is not None:
            extensions.append({"url": MIN_VALUE, kind_of_bound: item.min})
        if item.max is not None:
            extensions.append({"url": MAX_VALUE, kind_of_bound: item.max})
        if item.unit is not None:
            extensions.append({"url": UNIT, "valueCoding": _coding(item.unit)})
        if item.calculated_expression is not None:
            extensions.append(
                {
                    "url": CALCULATED,
                    "valueExpression": {
                        "language": "text/fhirpath",
                        "expression": item.calculated_expression,
                    },
                }
            )
        if item.type == "display":
            # A display item cannot have child items (que-1): keep help and anchors here.
            if item.help is not None:
                extensions.append(_json_ext(EXT_HELP, dict(item.help)))
            if item.anchors:
                anchors = {end: dict(t) for end, t in item.anchors.items()}
                extensions.append(_json_ext(EXT_ANCHORS, anchors))
        else:
            children = []
            if item.help is not None:
                link_id = item.help_link_id or f"{item.id}-help"
                children.append(self.child(link_id, "help", item.help))
            for end in ("min", "max"):
                if end in item.anchors:
                    control = ANCHOR_CONTROLS[end]
                    children.append(self.child(f"{item.id}-{control}", control, item.anchors[end]))
            if children:
                q["item"] = children
        if extensions:
            q = {"extension": extensions, **q}
        return q

    def option(self, item: Item, option: Option) -> dict[str, Any]:
        """One answerOption, carried as the imported file carried it."""
        meta = self.inst.fhir
        weight_url = meta.ordinal_extension if meta and meta.ordinal_extension else ORDINAL_VALUE
        weight_on = meta.ordinal_on if meta and meta.ordinal_on else "option"
        weight = (
            [{"url": weight_url, "valueDecimal": option.ordinal}]
            if option.ordinal is not None
            else []
        )
        result: dict[str, Any] = {}
        own = list(weight if weight_on == "option" else [])
        if option.not_applicable:
            own.append({"url": EXT_NOT_APPLICABLE, "valueBoolean": True})
        if own:
            result["extension"] = own
        if option.fhir_type == "valueInteger":
            result["valueInteger"] = option.code
        elif option.fhir_type == "valueString":
            result.update(self.text("valueString", option.label))
        else:
            coding: dict[str, Any] = {}
            if weight and weight_on == "coding":
                coding["extension"] = weight
            system = self.system(item, option)
            if system is not None:
                coding["system"] = system
            coding["code"] = str(option.code)
            coding.update(self.text("display", option.label))
            result["valueCoding"] = coding
        return result

    def child(self, link_id: str, control: str, text: Text) -> dict[str, Any]:
        """A display child shown as help or as the lower/upper label of its parent."""
        return {
            "extension": [item_control_ext(control)],
            "linkId": link_id,
            **self.text("text", text),
            "type": "display",
        }

    def condition(self, cond: EnableWhen) -> dict[str, Any]:
        target = self.by_id[cond.item]
        result: dict[str, Any] = {"question": target.fhir_link_id, "operator": cond.operator}
        result.update(answer_value(self, target, cond))
        return result

    def system(self, item: Item, option: Option) -> str | None:
        if option.system is not None:
            return option.system
        if self.inst.fhir is not None and not isinstance(option.code, int):
            return None
        return f"urn:openprom:{self.inst.id}:{item.id}"


def answer_value(out: _Exporter, target: Item, cond: EnableWhen) -> dict[str, Any]:
    """The ``answer[x]`` of an enableWhen on ``target``."""
    answer = cond.answer
    if cond.operator == "exists":
        return {"answerBoolean": bool(answer)}
    if target.type in ("choice", "open-choice") and answer in target.codes:
        option = target.option(answer)  # type: ignore[arg-type]
        if option.fhir_type == "valueInteger":
            return {"answerInteger": answer}
        if option.fhir_type == "valueString":
            return {"answerString": answer}
        coding: dict[str, Any] = {}
        system = out.system(target, option)
        if system is not None:
            coding["system"] = system
        coding["code"] = str(answer)
        return {"answerCoding": coding}
    if target.type == "boolean" or isinstance(answer, bool):
        return {"answerBoolean": answer}
    if target.type == "integer":
        return {"answerInteger": answer}
    if target.type == "decimal":
        return {"answerDecimal": answer}
    if target.type == "quantity":
        quantity: dict[str, Any] = {"value": answer}
        if target.unit is not None:
            if target.unit.system:
                quantity["system"] = target.unit.system
            quantity["code"] = target.unit.code
        return {"answerQuantity": quantity}
    if target.type == "date":
        return {"answerDate": answer}
    if target.type == "dateTime":
        return {"answerDateTime": answer}
    return {"answerString": str(answer)}


def _derived_id(link_id: str) -> str:
    """The item id the import makes from a linkId (instruments.fhir_import._item_id)."""
    from instruments.fhir_import import _item_id

    return _item_id(link_id)


def _json_ext(url: str, value: Any) -> dict[str, Any]:
    return {"url": url, "valueString": json.dumps(value, ensure_ascii=False, sort_keys=True)}
