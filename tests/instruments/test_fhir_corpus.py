"""Third-party FHIR Questionnaires (tests/fixtures/fhir/corpus, origins in its README).

Every file that openprom can hold imports, exports as valid R4 (fhir.resources R4B model,
the Questionnaire of R4B is the R4 one) and round-trips: import -> fhir keeps the linkIds,
answer codings (system, code), option weights, item codes, prefixes, itemControl,
calculatedExpression and the Questionnaire's url/identifier/version/name/code/publisher/
status; import -> fhir -> import gives the same definition. Files that cannot be held
are refused with the problem named (FHIR R4: https://hl7.org/fhir/R4/questionnaire.html).
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from instruments.fhir import FhirImportError, FhirImportWarning, to_questionnaire
from instruments.fhir_bundle import merge_language_bundle
from instruments.fhir_import import from_questionnaire, item_control, read_questionnaire
from instruments.fhir_stu3 import convert_stu3, stu3_signs
from instruments.fhir_terms import HASH_SYSTEM, ORDINAL_ALIASES
from instruments.fhir_value_sets import shipped_value_set
from instruments.loader import build

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "fhir" / "corpus"
FILES = sorted(CORPUS.glob("*.json"))

# Files without a language: the language their texts are in (given as --language would be).
LANGUAGE = {
    "structor-language_no-lang-code.json": "nb",
}
# Files openprom refuses, with the problem it names.
REFUSED = {
    "sdc-questionnaire-sdc-test-initial-value.json": (
        "linkId '1acf93a7-0890-44cd-be48-542defb35248': answerValueSet "
        "'http://sqlonfhir-r4.azurewebsites.net/fhir/ValueSet/a015b6a1ac024dc19baec940be2c1695' "
        "is neither contained"
    ),
    "sdc-questionnaire-sdc-test-required-field.json": (
        "linkId 'radio': answerValueSet "
        "'http://sqlonfhir-r4.azurewebsites.net/fhir/ValueSet/a015b6a1ac024dc19baec940be2c1695' "
        "is neither contained"
    ),
}
REFUSED["lforms-q-required-with-parent-enableWhen.json"] = (
    "linkId 'parent': enableWhenExpression (FHIRPath) is not supported"
)
IMPORTED = [f for f in FILES if f.name not in REFUSED]


def _language(path: Path, resource: dict[str, Any]) -> str | None:
    if path.name in LANGUAGE:
        return LANGUAGE[path.name]
    main = merge_language_bundle(resource) if resource["resourceType"] == "Bundle" else resource
    return None if main.get("language") else "en"


def _import(path: Path) -> dict[str, Any]:
    resource = read_questionnaire(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        return from_questionnaire(resource, language=_language(path, resource), file=path.name)


def _original(path: Path) -> dict[str, Any]:
    """The file as the R4 Questionnaire it means (a Bundle's first, STU3 converted)."""
    resource = read_questionnaire(path)
    if resource["resourceType"] == "Bundle":
        resource = merge_language_bundle(resource)
    if stu3_signs(resource):
        resource, left = convert_stu3(resource)
        assert left == []
    return resource


def _walk(items: Any, depth: int = 0, inherited: tuple = (), parent: str = ""):
    """Items with their depth and the enableWhen of their groups (which the import moves
    down onto the items of a group)."""
    for item in items or []:
        own = tuple(_condition(c) for c in item.get("enableWhen", []))
        yield item, depth, inherited
        passed = inherited + own if item.get("type") == "group" else inherited
        yield from _walk(item.get("item"), depth + 1, passed, item.get("type", ""))


def _condition(cond: dict[str, Any]) -> tuple[Any, ...]:
    return (cond["question"], cond["operator"], _answer(cond))


def _kept(item: dict[str, Any], depth: int) -> bool:
    """Items whose linkId the import keeps (a nested group without text becomes nothing)."""
    return not (item.get("type") == "group" and depth > 0 and not item.get("text"))


def _codings(q: dict[str, Any], item: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(system, code, weight) of each answer option, from answerOption or answerValueSet."""
    result = []
    for option in item.get("answerOption", []):
        coding = option.get("valueCoding")
        if coding is not None:
            weight = _weight(option) if _weight(option) is not None else _weight(coding)
            result.append((coding.get("system"), coding["code"], weight))
        else:
            value = option.get("valueInteger", option.get("valueString"))
            result.append((None, value, _weight(option)))
    reference = item.get("answerValueSet")
    if reference:
        contained = [r for r in q.get("contained", []) if r["resourceType"] == "ValueSet"]
        vs = next(
            (r for r in contained if f"#{r['id']}" == reference or r.get("url") == reference),
            None,
        ) or shipped_value_set(reference)
        for include in vs.get("compose", {}).get("include", []):
            for c in include.get("concept", []):
                result.append((include.get("system"), c["code"], _weight(c)))
        if not result:
            for c in vs["expansion"]["contains"]:
                result.append((c.get("system"), c["code"], _weight(c)))
    return result


def _weight(element: dict[str, Any]) -> Any:
    for ext in element.get("extension", []):
        if ext["url"] in ORDINAL_ALIASES and "valueDecimal" in ext:
            return ext["valueDecimal"]
    return None


def _calculated(item: dict[str, Any]) -> str | None:
    for ext in item.get("extension", []):
        if ext["url"].endswith("calculatedExpression"):
            value = ext.get("valueExpression", {}).get("expression", ext.get("valueString"))
            return value
    return None


def _summary(q: dict[str, Any]) -> dict[str, Any]:
    """What a round trip must keep, by linkId."""
    result: dict[str, Any] = {}
    for item, depth, inherited in _walk(q["item"]):
        if item.get("type") in ("display", "text") and item_control(item) in ("help",):
            result[item["linkId"]] = {"help": True}
            continue
        if not _kept(item, depth):
            continue
        entry: dict[str, Any] = {
            "codings": _codings(q, item),
            "code": [
                (c.get("system"), c.get("code")) for c in item.get("code", []) if c.get("code")
            ],
            "prefix": item.get("prefix"),
            "itemControl": item_control(item),
            "calculated": _calculated(item),
        }
        kind = "display" if item["type"] == "group" and depth > 0 else item["type"]
        if kind != "group":  # a nested group becomes a heading (display) with its linkId
            entry["type"] = kind
            entry["repeats"] = bool(item.get("repeats")) and kind != "display"
            entry["required"] = bool(item.get("required")) and kind != "display"
        if kind != "group":
            entry["enableWhen"] = list(inherited) + [
                _condition(c) for c in item.get("enableWhen", [])
            ]
        result[item["linkId"]] = entry
    return result


def _answer(cond: dict[str, Any]) -> Any:
    key = next(k for k in cond if k.startswith("answer"))
    value = cond[key]
    if key == "answerCoding":
        return value["code"]
    if key == "answerQuantity":
        return value["value"]
    return value


def _head(q: dict[str, Any]) -> dict[str, Any]:
    head = {k: q.get(k) for k in ("url", "version", "name", "publisher", "status")}
    head["code"] = [(c.get("system"), c["code"]) for c in q.get("code", [])]
    head["identifier"] = [
        (i.get("system"), i["value"]) for i in q.get("identifier", []) if i["system"] != HASH_SYSTEM
    ]
    return head


def test_the_corpus_has_at_least_twenty_importable_files():
    assert len(IMPORTED) >= 20, [f.name for f in IMPORTED]
    readme = (CORPUS.parent / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        assert path.name in readme, f"{path.name} is not cited in tests/fixtures/fhir/README.md"


@pytest.mark.parametrize("path", IMPORTED, ids=lambda p: p.stem)
def test_corpus_file_imports_exports_as_r4_and_round_trips(path):
    data = _import(path)
    inst = build(data)
    exported = to_questionnaire(inst, lang=inst.languages[0])
    Questionnaire.model_validate(exported)
    original = _original(path)
    assert _summary(exported) == _summary(original)
    head = _head(original)
    if head["status"] not in ("draft", "active", "retired", "unknown"):
        head["status"] = "active"
    assert _head(exported) == head
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        again = from_questionnaire(copy.deepcopy(exported))
    assert again == data
    assert build(again).content_hash == inst.content_hash


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_corpus_files_openprom_cannot_hold_are_refused_with_the_reason(name):
    resource = read_questionnaire(CORPUS / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        with pytest.raises(FhirImportError) as err:
            from_questionnaire(resource, language="en")
    assert any(p.startswith(REFUSED[name]) for p in err.value.problems), err.value.problems


def test_a_corpus_file_without_language_needs_one():
    resource = read_questionnaire(CORPUS / "structor-language_no-lang-code.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)  # the licence placeholder
        with pytest.raises(FhirImportError, match="has no language"):
            from_questionnaire(resource)


@pytest.mark.parametrize("path", IMPORTED, ids=lambda p: p.stem)
def test_corpus_file_round_trips_through_the_helsenorge_profile(path):
    from instruments.fhir_helsenorge import to_helsenorge_bundle

    data = _import(path)
    bundle = to_helsenorge_bundle(build(data))
    for entry in bundle["entry"]:
        Questionnaire.model_validate(entry["resource"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        assert from_questionnaire(bundle) == data
