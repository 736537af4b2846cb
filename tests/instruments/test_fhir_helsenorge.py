"""``python -m instruments fhir ID --profile helsenorge`` (instruments.fhir_helsenorge).

The structure follows what helsenorge/refero reads (see docs/fhir.md for the source files):
help items are ``text`` items with itemControl ``help`` (src/util/help.ts), a form is shown
in steps when a top-level item has itemControl ``step``
(src/util/shouldFormBeDisplayedAsStepView.ts), ordinalValue is read from
``answerOption.valueCoding`` (scoring and slider views), slider end labels are item codes
of ``http://helsenorge.no/fhir/CodeSystem/SliderLabels`` (LabelLeft/LabelRight) and the
metadata is what structor writes (sdf-Questionnaire profile, urn:ietf:bcp:47 tag,
tjenesteområde security label, sdf extensions).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from instruments import load, load_file
from instruments.__main__ import main
from instruments.fhir import FhirImportWarning, from_questionnaire
from instruments.fhir_helsenorge import to_helsenorge_bundle
from instruments.fhir_import import read_questionnaire
from instruments.fhir_terms import ITEM_CONTROL, ORDINAL_VALUE, TRANSLATION
from instruments.loader import build, definition_files

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "fhir" / "corpus"
TAGS = {"nb": "nb-NO", "nn": "nn-NO", "en": "en-GB"}
SDF = {
    "http://helsenorge.no/fhir/StructureDefinition/sdf-sidebar",
    "http://helsenorge.no/fhir/StructureDefinition/sdf-information-message",
    "http://helsenorge.no/fhir/StructureDefinition/sdf-presentationbuttons",
    "http://ehelse.no/fhir/StructureDefinition/sdf-authenticationrequirement",
    "http://ehelse.no/fhir/StructureDefinition/sdf-canbeperformedby",
    "http://helsenorge.no/fhir/StructureDefinition/sdf-save-capabilities",
}


def _walk(items: list[dict[str, Any]]):
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


def _control(item: dict[str, Any]) -> str | None:
    for ext in item.get("extension", []):
        if ext["url"] == ITEM_CONTROL:
            return ext["valueCodeableConcept"]["coding"][0]["code"]
    return None


def _urls(node: Any):
    if isinstance(node, dict):
        if "url" in node and isinstance(node["url"], str):
            yield node["url"]
        for value in node.values():
            yield from _urls(value)
    elif isinstance(node, list):
        for value in node:
            yield from _urls(value)


SOURCES = [pytest.param(p, id=p.stem) for p in definition_files()] + [
    pytest.param(FIXTURES / "full.yaml", id="full"),
    pytest.param(FIXTURES / "all_types.yaml", id="all_types"),
]


@pytest.mark.parametrize("path", SOURCES)
def test_one_questionnaire_per_language_as_refero_reads_it(path):
    inst = load_file(path)
    bundle = to_helsenorge_bundle(inst)
    assert bundle["resourceType"] == "Bundle"
    entries = [e["resource"] for e in bundle["entry"]]
    assert [q["language"] for q in entries] == [TAGS[lang] for lang in inst.languages]
    link_ids = None
    for lang, q in zip(inst.languages, entries, strict=True):
        Questionnaire.model_validate(q)
        assert TRANSLATION not in set(_urls(q)), "refero reads no translation extension"
        assert q["meta"]["profile"] == [
            "http://ehelse.no/fhir/StructureDefinition/sdf-Questionnaire"
        ]
        assert q["meta"]["tag"][0] == {
            "system": "urn:ietf:bcp:47",
            "code": TAGS[lang],
            "display": {"nb": "Bokmål", "nn": "Nynorsk", "en": "English"}[lang],
        }
        assert q["meta"]["security"][0]["system"] == "urn:oid:2.16.578.1.12.4.1.1.7618"
        assert {e["url"] for e in q["extension"]} >= SDF
        assert q["title"] == inst.title[lang]
        items = list(_walk(q["item"]))
        ids = [i["linkId"] for i in items]
        assert link_ids in (None, ids), "the same linkIds in every language"
        link_ids = ids
        for item in items:
            if _control(item) == "help":
                assert item["type"] == "text"  # refero: isHelpItem needs type text
            for option in item.get("answerOption", []):
                weights = [
                    e
                    for e in option["valueCoding"].get("extension", [])
                    if e["url"] == ORDINAL_VALUE
                ]
                if isinstance(_code(inst, item, option), int) or weights:
                    assert len(weights) == 1
        if len(inst.pages) > 1:
            assert all(_control(g) is not None for g in q["item"] if g["type"] == "group")


def _code(inst, item, option):
    for model in inst.items:
        if model.fhir_link_id == item["linkId"]:
            code = option["valueCoding"]["code"]
            return (
                int(code)
                if code.lstrip("-").isdigit() and all(isinstance(c, int) for c in model.codes)
                else code
            )
    return option["valueCoding"]["code"]


@pytest.mark.parametrize("path", SOURCES)
def test_the_bundle_imports_back_to_the_same_definition(path):
    inst = load_file(path)
    bundle = json.loads(json.dumps(to_helsenorge_bundle(inst)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        data = from_questionnaire(bundle)
    assert build(data).content_hash == inst.content_hash


def test_the_eq5d_vas_is_a_slider_with_its_end_labels():
    inst = load("eq5d5l")
    vas = inst.item("VAS")
    for lang, entry in zip(inst.languages, to_helsenorge_bundle(inst)["entry"], strict=True):
        item = next(i for i in _walk(entry["resource"]["item"]) if i["linkId"] == "VAS")
        assert (item["type"], _control(item)) == ("choice", "slider")
        codes = [o["valueCoding"]["code"] for o in item["answerOption"]]
        assert codes == [str(n) for n in range(0, 101)]
        weights = [o["valueCoding"]["extension"][0]["valueDecimal"] for o in item["answerOption"]]
        assert weights == list(range(0, 101))
        labels = {
            c["code"]: c["display"] for c in item["code"] if c["system"].endswith("SliderLabels")
        }
        assert labels == {
            "LabelLeft": vas.anchors["min"][lang],
            "LabelRight": vas.anchors["max"][lang],
        }
        display = [c["code"] for c in item["code"] if c["system"].endswith("SliderDisplayType")]
        assert display == ["ordnialValue"]  # refero's spelling of SliderDisplayTypes.OrdinalValue


def test_helsenorge_weights_of_an_imported_form_stay_on_the_coding():
    resource = read_questionnaire(CORPUS / "refero-NHN_Testskjema_Skaaring-nb-NO.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        inst = build(from_questionnaire(resource))
    (entry,) = to_helsenorge_bundle(inst)["entry"]
    item = next(
        i
        for i in _walk(entry["resource"]["item"])
        if i["linkId"] == "4a737860-a22d-49d4-82f1-5fe6cf45e22a"
    )
    assert [o["valueCoding"]["extension"] for o in item["answerOption"]] == [
        [{"url": ORDINAL_VALUE, "valueDecimal": 1}],
        [{"url": ORDINAL_VALUE, "valueDecimal": 2}],
    ]
    assert entry["resource"]["language"] == "nb-NO"


def test_cli_profile_helsenorge(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["fhir", "gspeq", "--profile", "helsenorge", "-o", str(out)]) == 0
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert [e["resource"]["language"] for e in bundle["entry"]] == ["nb-NO", "nn-NO", "en-GB"]
