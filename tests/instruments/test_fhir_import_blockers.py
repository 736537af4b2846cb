"""One test per import blocker of issue #11 (FHIR R4 Questionnaire, https://hl7.org/fhir/R4/questionnaire.html;
STU3 differences, https://hl7.org/fhir/R4/questionnaire.html#Questionnaire)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from instruments.fhir import (
    FhirImportError,
    FhirImportWarning,
    from_questionnaire,
    to_questionnaire,
)
from instruments.loader import build


def _q(*items: dict[str, Any], **top: Any) -> dict[str, Any]:
    base = {"resourceType": "Questionnaire", "status": "draft", "name": "T", "language": "en"}
    return base | top | {"item": list(items)}


def _import(q: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        return from_questionnaire(q, **kwargs)


def _items(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i.get("link_id", i["id"]): i for i in data["items"]}


def _choice(link_id: str, *codes: tuple[str | None, str], **extra: Any) -> dict[str, Any]:
    options = [{"valueCoding": {"system": s, "code": c, "display": c.upper()}} for s, c in codes]
    for option in options:
        if option["valueCoding"]["system"] is None:
            del option["valueCoding"]["system"]
    return {"linkId": link_id, "type": "choice", "text": link_id, "answerOption": options} | extra


def test_non_integer_answer_codes_are_kept_with_their_system():
    q = _q(
        _choice("loinc", ("http://loinc.org", "LA6568-5"), ("http://loinc.org", "LA6569-3")),
        _choice(
            "hn",
            ("urn:oid:2.16.578.1.12.4.1.1101", "ja"),
            ("urn:oid:2.16.578.1.12.4.1.1101", "nei"),
        ),
        _choice("sdc", ("http://hl7.org/fhir/administrative-gender", "male"), (None, "female")),
    )
    items = _items(_import(q))
    assert [(o["system"], o["code"]) for o in items["loinc"]["options"]] == [
        ("http://loinc.org", "LA6568-5"),
        ("http://loinc.org", "LA6569-3"),
    ]
    assert [o["code"] for o in items["hn"]["options"]] == ["ja", "nei"]
    assert items["sdc"]["options"][1] == {"code": "female", "label": {"en": "FEMALE"}}
    exported = to_questionnaire(build(_import(q)), lang="en")
    assert exported["item"][2]["answerOption"][1]["valueCoding"] == {
        "code": "female",
        "display": "FEMALE",
    }


def test_integer_items_without_bounds_and_every_new_type_import():
    types = ["integer", "decimal", "quantity", "boolean", "string", "text", "date", "dateTime"]
    q = _q(
        *({"linkId": t, "type": t, "text": t} for t in types),
        _choice("oc", (None, "a"), type="open-choice"),
    )
    items = _items(_import(q))
    assert [items[t]["type"] for t in types] == types
    assert "min" not in items["integer"] and "max" not in items["integer"]
    assert items["oc"]["type"] == "open-choice"


def test_multi_select_is_kept():
    items = _items(_import(_q(_choice("m", (None, "a"), (None, "b"), repeats=True))))
    assert items["m"]["repeats"] is True


def test_answer_value_set_from_shipped_loinc_list():
    q = _q(
        {
            "linkId": "q",
            "type": "choice",
            "text": "q",
            "answerValueSet": "http://loinc.org/vs/LL358-3",
        }
    )
    options = _items(_import(q))["q"]["options"]
    # LL358-3 as in the LOINC PHQ-9 panel (instruments/data/fhir_value_sets.json)
    assert [(o["code"], o["ordinal"]) for o in options] == [
        ("LA6568-5", 0),
        ("LA6569-3", 1),
        ("LA6570-1", 2),
        ("LA6571-9", 3),
    ]


def test_enable_when_exists_string_decimal_and_any():
    q = _q(
        {"linkId": "s", "type": "string", "text": "s"},
        {"linkId": "d", "type": "decimal", "text": "d"},
        {
            "linkId": "x",
            "type": "display",
            "text": "x",
            "enableBehavior": "any",
            "enableWhen": [
                {"question": "s", "operator": "exists", "answerBoolean": True},
                {"question": "s", "operator": "=", "answerString": "yes"},
                {"question": "d", "operator": ">=", "answerDecimal": 2.5},
            ],
        },
    )
    x = _items(_import(q))["x"]
    assert x["enable_behavior"] == "any"
    assert x["enable_when"] == [
        {"item": "s", "operator": "exists", "answer": True},
        {"item": "s", "operator": "=", "answer": "yes"},
        {"item": "d", "operator": ">=", "answer": 2.5},
    ]
    item = build(_import(q)).item("x")
    assert item.is_enabled({"d": 3.0}) and not item.is_enabled({"d": 1.0})


def test_stu3_is_named_and_converted():
    q = _q(
        {"linkId": "a", "type": "choice", "text": "a", "option": [{"valueCoding": {"code": "y"}}]},
        {
            "linkId": "b",
            "type": "string",
            "text": "b",
            "enableWhen": [{"question": "a", "hasAnswer": True}],
        },
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = from_questionnaire(q)
    assert any(
        "this is a FHIR STU3 Questionnaire (item.option, enableWhen.hasAnswer)" in str(w.message)
        for w in caught
    )
    assert _items(data)["b"]["enable_when"] == [{"item": "a", "operator": "exists", "answer": True}]


def test_stu3_that_cannot_be_converted_says_so():
    q = _q({"linkId": "a", "type": "choice", "text": "a", "options": "not a reference"})
    with pytest.raises(FhirImportError, match="this is a FHIR STU3 Questionnaire"):
        _import(q)


def test_every_problem_is_reported_with_its_link_id():
    q = _q(
        {"linkId": "t", "type": "time", "text": "t"},
        {"linkId": "c", "type": "choice", "text": "c", "answerValueSet": "http://example.org/vs"},
        {
            "linkId": "e",
            "type": "string",
            "text": "e",
            "enableWhen": [{"question": "zz", "operator": "=", "answerString": "a"}],
        },
    )
    with pytest.raises(FhirImportError) as err:
        _import(q)
    assert [p.split(":")[0] for p in err.value.problems] == [
        "linkId 't'",
        "linkId 'c'",
        "linkId 'e'",
    ]
    assert str(err.value).startswith("3 problems:")


def test_no_language_is_an_error_unless_given():
    q = _q({"linkId": "a", "type": "string", "text": "Navn"}, language=None)
    del q["language"]
    with pytest.raises(FhirImportError, match="has no language"):
        _import(q)
    assert _import(q, language="nn")["languages"] == ["nn"]
