"""Definition -> HL7 FHIR R4 Questionnaire (see :func:`to_questionnaire`)."""

from __future__ import annotations

import json
import re
from typing import Any

from instruments.fhir_terms import (
    ANCHOR_CONTROLS,
    EXT_ANCHORS,
    EXT_HELP,
    EXT_ITEM_ORDER,
    EXT_KIND,
    EXT_LANGUAGES,
    EXT_LICENCE,
    EXT_NOT_APPLICABLE,
    EXT_PAGE_ID,
    EXT_SCALES,
    EXT_SCORING,
    EXT_SOURCE,
    HASH_SYSTEM,
    ITEM_CONTROL,
    ITEM_CONTROL_SYSTEM,
    MAX_VALUE,
    MIN_VALUE,
    TRANSLATION,
    URL_PREFIX,
)
from instruments.model import Instrument, Item, Text


def to_questionnaire(inst: Instrument, lang: str = "nb") -> dict[str, Any]:
    """``inst`` as a FHIR R4 Questionnaire (JSON-ready dict) with texts in ``lang``.

    The other languages of the file are ``translation`` extensions on the texts.
    Raises ValueError when ``lang`` is not one of the instrument's languages.
    """
    if lang not in inst.languages:
        raise ValueError(f"{inst.id} has no language {lang!r} (has {', '.join(inst.languages)})")
    out = _Exporter(inst, lang)
    extensions = [
        {"url": EXT_KIND, "valueCode": inst.kind},
        _json_ext(EXT_LANGUAGES, list(inst.languages)),
    ]
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

    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": inst.id.replace("_", "-")[:64],
        "language": lang,
        "extension": extensions,
        "url": URL_PREFIX + inst.id,
        "identifier": [{"system": HASH_SYSTEM, "value": inst.content_hash}],
        "version": inst.version,
        "name": re.sub(r"[^A-Za-z0-9_]", "_", inst.id.upper()),
        **out.text("title", inst.title),
        "status": "active",
        "subjectType": ["Patient"],
    }
    if inst.intro is not None:
        resource.update(out.text("description", inst.intro))
    resource["copyright"] = lic.notice
    resource["item"] = out.items()
    return resource


class _Exporter:
    """Builds the ``item`` tree of one Questionnaire in one main language."""

    def __init__(self, inst: Instrument, lang: str):
        self.inst = inst
        self.lang = lang
        self.others = [x for x in inst.languages if x != lang]

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
        by_id = {i.id: i for i in self.inst.items}
        if not self.inst.pages:
            return [self.item(i) for i in self.inst.items]
        taken = {i.id for i in self.inst.items}
        groups = []
        for page in self.inst.pages:
            link_id = page.id if page.id not in taken else f"{page.id}-page"
            taken.add(link_id)
            group: dict[str, Any] = {"linkId": link_id}
            if link_id != page.id:
                group["extension"] = [{"url": EXT_PAGE_ID, "valueString": page.id}]
            if page.title is not None:
                group.update(self.text("text", page.title))
            group["type"] = "group"
            group["item"] = [self.item(by_id[iid]) for iid in page.items]
            groups.append(group)
        return groups

    def item(self, item: Item) -> dict[str, Any]:
        extensions: list[dict[str, Any]] = []
        q: dict[str, Any] = {"linkId": item.id, **self.text("text", item.text), "type": item.type}
        if item.enable_when:
            q["enableWhen"] = [
                self.condition(c.item, c.operator, c.answer) for c in item.enable_when
            ]
            if len(item.enable_when) > 1:
                q["enableBehavior"] = "all"
        if item.required:
            q["required"] = True
        if item.type == "choice":
            q["answerOption"] = [
                {
                    **(
                        {"extension": [{"url": EXT_NOT_APPLICABLE, "valueBoolean": True}]}
                        if o.not_applicable
                        else {}
                    ),
                    "valueCoding": {
                        "system": self.system(item.id),
                        "code": str(o.code),
                        **self.text("display", o.label),
                    },
                }
                for o in item.options
            ]
        if item.type == "integer":
            extensions += [
                {"url": MIN_VALUE, "valueInteger": item.min},
                {"url": MAX_VALUE, "valueInteger": item.max},
            ]
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
                children.append(self.child(item.id, "help", item.help))
            for end in ("min", "max"):
                if end in item.anchors:
                    children.append(self.child(item.id, ANCHOR_CONTROLS[end], item.anchors[end]))
            if children:
                q["item"] = children
        if extensions:
            q = {"extension": extensions, **q}
        return q

    def child(self, item_id: str, control: str, text: Text) -> dict[str, Any]:
        """A display child shown as help or as the lower/upper label of its parent."""
        return {
            "extension": [
                {
                    "url": ITEM_CONTROL,
                    "valueCodeableConcept": {
                        "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": control}]
                    },
                }
            ],
            "linkId": f"{item_id}-{control}",
            **self.text("text", text),
            "type": "display",
        }

    def condition(self, item_id: str, operator: str, answer: int) -> dict[str, Any]:
        if self.inst.item(item_id).type == "choice":
            value = {"answerCoding": {"system": self.system(item_id), "code": str(answer)}}
        else:
            value = {"answerInteger": answer}
        return {"question": item_id, "operator": operator, **value}

    def system(self, item_id: str) -> str:
        return f"urn:openprom:{self.inst.id}:{item_id}"


def _json_ext(url: str, value: Any) -> dict[str, Any]:
    return {"url": url, "valueString": json.dumps(value, ensure_ascii=False, sort_keys=True)}
