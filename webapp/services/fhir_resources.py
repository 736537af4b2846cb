"""Stored answers <-> FHIR R4 QuestionnaireResponse items, scores -> Observation.

No database here: the use cases in :mod:`webapp.services.fhir_responses` read and write
the rows. A QuestionnaireResponse follows the item tree of the Questionnaire that
:func:`instruments.fhir.to_questionnaire` writes for the instrument (same linkIds, same
groups, same answer codings), so a FHIR tool that holds that Questionnaire can check and
render the answers. Validated with fhir.resources (its R4B models: QuestionnaireResponse,
Observation, OperationOutcome, Bundle and CapabilityStatement are the same in R4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from instruments import Instrument, Item
from instruments.fhir import to_questionnaire
from instruments.fhir_terms import EXT, URL_PREFIX

PSEUDONYM_SYSTEM = "urn:openprom:pseudonym"  # the export pseudonym (see docs/export.md)
RESPONSE_SYSTEM = "urn:openprom:response"  # QuestionnaireResponse.identifier: response id
SCORE_SYSTEM = "urn:openprom:score:"  # + instrument id: Observation.code of a score
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"  # fødselsnummer
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"  # D-number
EXT_TIME_POINT = EXT + "time-point"  # valueString: time point name
EXT_DAYS_FROM_INDEX = EXT + "days-from-index"  # valueInteger
EXT_INDEX_YEAR = EXT + "index-year"  # valueInteger
EXT_MODE = EXT + "mode"  # valueCode: self, proxy, paper, helsenorge, external
EXT_VALUE_SET = EXT + "value-set"  # valueString on a score Observation
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
FREE_TEXT_TYPES = frozenset({"string", "text"})


class AnswerProblem(ValueError):
    """One answer of a QuestionnaireResponse that does not fit its item."""

    def __init__(self, link_id: str, reason: str):
        super().__init__(reason)
        self.link_id = link_id
        self.reason = reason


def canonical_url(inst: Instrument) -> str:
    """The Questionnaire ``url`` of the instrument (its original one when imported)."""
    meta = getattr(inst, "fhir", None)
    url = getattr(meta, "url", None)
    return url or URL_PREFIX + inst.id


def questionnaire_version(inst: Instrument, stored: str | None = None) -> str:
    """The Questionnaire ``version`` of a response that recorded ``stored`` (the current
    one when None): the original FHIR version of an imported instrument, else ours."""
    if stored is not None and stored != inst.version:
        return stored
    meta = getattr(inst, "fhir", None)
    return getattr(meta, "version", None) or inst.version


def canonical(inst: Instrument, stored: str | None = None) -> str:
    """``url|version``: what QuestionnaireResponse.questionnaire holds. A canonical is a
    URI (no white space): spaces in the version are written ``%20``."""
    return f"{canonical_url(inst)}|{questionnaire_version(inst, stored).replace(' ', '%20')}"


def link_id(item: Item) -> str:
    """The FHIR linkId of an item (its original linkId when imported)."""
    return getattr(item, "fhir_link_id", None) or item.id


# (instrument id, content hash, language) -> Questionnaire; keyed by the content hash, not
# by the instrument object (hashing a whole frozen definition costs more than the lookup)
_QUESTIONNAIRES: dict[tuple[str, str, str], dict[str, Any]] = {}
_QUESTION_ITEMS: dict[tuple[str, str], dict[str, tuple[dict[str, Any], Item]]] = {}


def questionnaire(inst: Instrument, lang: str) -> dict[str, Any]:
    """The instrument's Questionnaire in ``lang`` (or its first language), cached."""
    lang = lang if lang in inst.languages else inst.languages[0]
    key = (inst.id, inst.content_hash, lang)
    found = _QUESTIONNAIRES.get(key)
    if found is None:
        if len(_QUESTIONNAIRES) > 256:
            _QUESTIONNAIRES.clear()
        found = _QUESTIONNAIRES[key] = to_questionnaire(inst, lang=lang)
    return found


def _walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for q_item in items:
        yield q_item
        yield from _walk(q_item.get("item", []))


def question_items(inst: Instrument) -> dict[str, tuple[dict[str, Any], Item]]:
    """linkId -> (Questionnaire item, model item) for every item that takes an answer."""
    key = (inst.id, inst.content_hash)
    cached = _QUESTION_ITEMS.get(key)
    if cached is not None:
        return cached
    by_link = {link_id(i): i for i in inst.questions}
    found = {}
    for q_item in _walk(questionnaire(inst, inst.languages[0])["item"]):
        model = by_link.get(q_item["linkId"])
        if model is not None and q_item.get("type") not in ("group", "display"):
            found[q_item["linkId"]] = (q_item, model)
    if len(_QUESTION_ITEMS) > 256:
        _QUESTION_ITEMS.clear()
    _QUESTION_ITEMS[key] = found
    return found


def _is_free_text(q_item: dict[str, Any], value: Any) -> bool:
    if q_item.get("type") in FREE_TEXT_TYPES:
        return True
    return q_item.get("type") == "open-choice" and _option_of(q_item, value) is None


def _option_of(q_item: dict[str, Any], value: Any) -> dict[str, Any] | None:
    for option in q_item.get("answerOption", []):
        for key, given in option.items():
            if key == "valueCoding" and given.get("code") == str(value):
                return option
            if key in ("valueInteger", "valueString", "valueDate") and str(given) == str(value):
                return option
    return None


def answer_values(
    q_item: dict[str, Any], model: Item, value: Any, *, free_text: bool
) -> list[dict[str, Any]]:
    """The ``answer`` list of one item for a stored value (several when it repeats).

    Free text (string, text, an open-choice answer that is no option) is left out unless
    ``free_text``. Raises ValueError for a value the item cannot hold.
    """
    values = value if isinstance(value, list) else [value]
    answers = []
    for one in values:
        if one is None or (not free_text and _is_free_text(q_item, one)):
            continue
        answers.append(_answer_value(q_item, model, one))
    return answers


def _answer_value(q_item: dict[str, Any], model: Item, value: Any) -> dict[str, Any]:
    kind = q_item.get("type")
    if kind in ("choice", "open-choice"):
        option = _option_of(q_item, value)
        if option is not None:  # the option's value without its translations (``_display``)
            return {
                k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")}
                if isinstance(v, dict)
                else v
                for k, v in option.items()
                if k.startswith("value")
            }
        if kind == "open-choice" and isinstance(value, str):
            return {"valueString": value}
        raise ValueError(f"{q_item['linkId']}: {value!r} is not an option")
    if kind == "integer":
        return {"valueInteger": int(value)}
    if kind == "decimal":
        return {"valueDecimal": float(value)}
    if kind == "quantity":
        quantity: dict[str, Any] = {"value": float(value)}
        unit = getattr(model, "unit", None)
        if unit is not None:
            quantity["unit"] = unit.display or unit.code
            if unit.system:
                quantity["system"] = unit.system
            quantity["code"] = unit.code
        return {"valueQuantity": quantity}
    if kind == "boolean":
        return {"valueBoolean": bool(value)}
    if kind in FREE_TEXT_TYPES:
        return {"valueString": str(value)}
    if kind == "date":
        return {"valueDate": str(value)}
    if kind == "dateTime":
        return {"valueDateTime": str(value)}
    raise ValueError(f"{q_item['linkId']}: items of type {kind} take no answer")


def response_items(
    inst: Instrument, answers: Mapping[str, Any], *, lang: str, free_text: bool = False
) -> list[dict[str, Any]]:
    """QuestionnaireResponse ``item`` tree of stored answers (groups as in the Questionnaire;
    items without an answer are left out, and so are groups left empty)."""
    by_link = {link_id(i): i for i in inst.questions}

    def build(q_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for q_item in q_items:
            if q_item.get("type") == "display":
                continue
            node: dict[str, Any] = {"linkId": q_item["linkId"]}
            if "text" in q_item:
                node["text"] = q_item["text"]
            model = by_link.get(q_item["linkId"])
            if q_item.get("type") == "group" or model is None:
                children = build(q_item.get("item", []))
                if children:
                    out.append({**node, "item": children})
                continue
            value = answers.get(model.id)
            if value is None:
                continue
            found = answer_values(q_item, model, value, free_text=free_text)
            if found:
                out.append({**node, "answer": found})
        return out

    return build(questionnaire(inst, lang)["item"])


_VALUE_KEYS = {
    "integer": ("valueInteger",),
    "decimal": ("valueDecimal", "valueInteger"),
    "quantity": ("valueQuantity",),
    "boolean": ("valueBoolean",),
    "string": ("valueString",),
    "text": ("valueString",),
    "date": ("valueDate",),
    "dateTime": ("valueDateTime",),
}


def answer_from_fhir(
    q_item: Mapping[str, Any], model: Item, answer: Any, *, instrument_id: str | None = None
) -> Any:
    """The stored value of one QuestionnaireResponse answer (before the model's own check).

    A VAS (integer item with both anchors) also takes the ``valueCoding`` that Helsenorge
    sends for it (the Helsenorge profile writes it as a slider of codes "0".."100"): the
    code is returned for the model to turn into the integer. Raises :class:`AnswerProblem`
    (with the linkId) when the answer's type does not fit the item or names no option.
    """
    link = str(q_item["linkId"])
    if not isinstance(answer, Mapping):
        raise AnswerProblem(link, "an answer must be a JSON object")
    if answer.get("item"):
        raise AnswerProblem(link, "items nested under an answer are not part of this questionnaire")
    values = [(k, v) for k, v in answer.items() if k.startswith("value")]
    if len(values) != 1:
        raise AnswerProblem(link, "an answer needs exactly one value[x]")
    key, value = values[0]
    kind = q_item.get("type")
    if kind in ("choice", "open-choice"):
        return _option_code(q_item, model, key, value)
    if kind == "integer" and key == "valueCoding" and _is_vas(model):
        return _vas_code(link, model, value, instrument_id)
    expected = _VALUE_KEYS.get(str(kind), ())
    if key not in expected:
        wanted = " or ".join(expected) or "no answer"
        raise AnswerProblem(link, f"{key} does not answer a {kind} item ({wanted} expected)")
    if kind == "quantity":
        unit = getattr(model, "unit", None)
        given = {value.get("code"), value.get("unit")} - {None}
        if unit is not None and given and not given & {unit.code, unit.display}:
            raise AnswerProblem(link, f"unit {sorted(given)} is not {unit.code!r}")
        return value.get("value")
    return value


def _is_vas(model: Item) -> bool:
    """An integer item with both anchors: written as a slider by the Helsenorge profile."""
    return model.type == "integer" and {"min", "max"} <= set(model.anchors or {})


def _vas_code(link: str, model: Item, value: Any, instrument_id: str | None) -> str:
    """The code of a slider answer to a VAS ("57"); the model's check makes it an int."""
    if not isinstance(value, Mapping):
        raise AnswerProblem(link, "valueCoding must be a JSON object")
    code, system = value.get("code"), value.get("system")
    own = f"urn:openprom:{instrument_id}:{model.id}" if instrument_id else None
    if system is not None and own is not None and system != own:
        raise AnswerProblem(link, f"code system {system!r} is not this scale's ({own})")
    if not isinstance(code, str) or not code.isdecimal():
        raise AnswerProblem(link, f"code {code!r} is not a whole number on this scale")
    return code


def _option_code(q_item: Mapping[str, Any], model: Item, key: str, value: Any) -> Any:
    link = str(q_item["linkId"])
    if key == "valueCoding" and isinstance(value, Mapping):
        code, system = value.get("code"), value.get("system")
        for option in model.options:
            if str(option.code) != str(code):
                continue
            q_option = _option_of(dict(q_item), option.code) or {}
            own = (q_option.get("valueCoding") or {}).get("system")
            if system and own and system != own:
                continue
            return option.code
        where = f" ({system})" if system else ""
        raise AnswerProblem(link, f"code {code!r}{where} is not an answer option of this item")
    if key == "valueString" and q_item.get("type") == "open-choice":
        return value
    for option in model.options:
        if key in ("valueInteger", "valueString") and str(option.code) == str(value):
            return option.code
    raise AnswerProblem(link, f"{key} does not answer a choice item (valueCoding expected)")


def pseudonym_reference(alias: str) -> dict[str, Any]:
    """A subject reference by the export pseudonym (never a national ID)."""
    return {"identifier": {"system": PSEUDONYM_SYSTEM, "value": alias}}


def questionnaire_response(
    *,
    response_id: int,
    inst: Instrument,
    version: str,
    answers: Mapping[str, Any],
    lang: str,
    alias: str,
    authored: str,
    extensions: list[dict[str, Any]] | None = None,
    free_text: bool = False,
) -> dict[str, Any]:
    """A completed QuestionnaireResponse (JSON-ready) of one stored response."""
    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "id": str(response_id)}
    if extensions:
        resource["extension"] = extensions
    resource.update(
        {
            "identifier": {"system": RESPONSE_SYSTEM, "value": str(response_id)},
            "questionnaire": canonical(inst, version),
            "status": "completed",
            "subject": pseudonym_reference(alias),
            "authored": authored,
            "item": response_items(inst, answers, lang=lang, free_text=free_text),
        }
    )
    return resource


def score_observation(
    *,
    response_id: int,
    instrument_id: str,
    scale: str,
    value: float | str | None,
    algorithm_version: str,
    value_set: str,
    alias: str,
    effective: str,
) -> dict[str, Any]:
    """One score of a response as an Observation derived from its QuestionnaireResponse."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _fhir_id(f"{response_id}-{scale}"),
    }
    if value_set:
        resource["extension"] = [{"url": EXT_VALUE_SET, "valueString": value_set}]
    resource.update(
        {
            "status": "final",
            "category": [
                {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]},
            ],
            "code": {
                "coding": [{"system": SCORE_SYSTEM + instrument_id, "code": scale}],
                "text": f"{instrument_id} {scale}",
            },
            "subject": pseudonym_reference(alias),
            "effectiveDateTime": effective,
            "derivedFrom": [{"reference": f"QuestionnaireResponse/{response_id}"}],
            "method": {"text": f"openprom scoring {algorithm_version}"},
        }
    )
    if value is None:
        resource["dataAbsentReason"] = {
            "coding": [{"system": DATA_ABSENT, "code": "unknown"}],
            "text": "not computable from the answers (missing-data rule)",
        }
    elif isinstance(value, str):
        resource["valueString"] = value
    else:
        resource["valueQuantity"] = {"value": value}
    return resource


def _fhir_id(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-." else "-" for c in text)
    return cleaned[:64]


def fhir_instant(moment: dt.datetime) -> str:
    """An aware datetime as FHIR dateTime in UTC (``...Z``, seconds)."""
    if moment.tzinfo is None:  # SQLite hands back naive UTC datetimes
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_MODELS = {
    "QuestionnaireResponse": "fhir.resources.R4B.questionnaireresponse",
    "Observation": "fhir.resources.R4B.observation",
    "OperationOutcome": "fhir.resources.R4B.operationoutcome",
    "Bundle": "fhir.resources.R4B.bundle",
    "CapabilityStatement": "fhir.resources.R4B.capabilitystatement",
    "Questionnaire": "fhir.resources.R4B.questionnaire",
}


def validate(resource: Mapping[str, Any]) -> None:
    """Check ``resource`` against the fhir.resources model of its type (raises ValueError)."""
    import importlib

    kind = resource.get("resourceType")
    module = _MODELS.get(str(kind))
    if module is None:
        raise ValueError(f"no model for resourceType {kind!r}")
    model = getattr(importlib.import_module(module), str(kind))
    model.model_validate(dict(resource))
