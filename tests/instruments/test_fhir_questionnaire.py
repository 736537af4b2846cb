"""FHIR R4 Questionnaire export and import (instruments.fhir).

fhir.resources 8.3 ships the R5 model (top level), R4B and STU3 but no plain R4 package;
the Questionnaire resource is the same in R4 and R4B, so the R4B model validates the
export. It does not check code bindings or invariants, so ``assert_plain_r4`` below checks
the R4 rules a renderer relies on (item types, operators, que-1/-5/-6/-12, unique linkIds).
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instruments import load_file, parse
from instruments.__main__ import main
from instruments.fhir import (
    EXT,
    TRANSLATION,
    FhirImportError,
    FhirImportWarning,
    from_questionnaire,
    from_questionnaire_file,
    to_questionnaire,
)
from instruments.loader import check, definition_files

FIXTURES = Path(__file__).parent / "fixtures"
FULL = FIXTURES / "full.yaml"
HELSENORGE = FIXTURES / "fhir" / "helsenorge_style.json"

# R4 value sets: item-type, questionnaire-enable-operator, publication-status.
R4_ITEM_TYPES = {
    "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string",
    "text", "url", "choice", "open-choice", "attachment", "reference", "quantity",
}  # fmt: skip
R4_OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}
CORE_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/translation",
    "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl",
    "http://hl7.org/fhir/StructureDefinition/minValue",
    "http://hl7.org/fhir/StructureDefinition/maxValue",
}
CONTRACT_IDS = {"eq5d5l", "eq5d3l", "rand36", "odi", "cat", "gspeq"}


def _extensions(node: Any):
    if isinstance(node, dict):
        yield from node.get("extension", [])
        for value in node.values():
            yield from _extensions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _extensions(value)


def _walk(items: list[dict[str, Any]]):
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


def assert_plain_r4(q: dict[str, Any]) -> None:
    """Valid for the fhir.resources model and for the R4 rules it does not check."""
    Questionnaire.model_validate(q)
    assert q["resourceType"] == "Questionnaire"
    assert q["status"] in {"draft", "active", "retired", "unknown"}
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", q["id"])
    assert re.fullmatch(r"[A-Z][A-Za-z0-9_]{0,254}", q["name"])  # que-0
    items = list(_walk(q["item"]))
    link_ids = [i["linkId"] for i in items]
    assert len(link_ids) == len(set(link_ids)), "linkIds must be unique (que-2)"
    for item in items:
        assert item["type"] in R4_ITEM_TYPES
        if item["type"] == "group":
            assert item.get("item"), "a group needs items (que-1)"
        if item["type"] == "display":
            assert "item" not in item, "a display item has no items (que-1)"
            assert "required" not in item and "repeats" not in item  # que-6
        if "answerOption" in item:
            assert item["type"] == "choice"  # que-5
        conditions = item.get("enableWhen", [])
        if len(conditions) > 1:
            assert item["enableBehavior"] in {"all", "any"}  # que-12
        for cond in conditions:
            assert cond["operator"] in R4_OPERATORS
            assert cond["question"] in link_ids
    for ext in _extensions(q):
        url = ext["url"]
        if url in ("lang", "content"):  # parts of a translation extension
            continue
        assert url in CORE_EXTENSIONS or url.startswith(EXT), url
        if url == TRANSLATION:
            parts = {e["url"]: e for e in ext["extension"]}
            assert set(parts) == {"lang", "content"}
            assert parts["lang"]["valueCode"] in {"nb", "nn", "en"}


def reserialised(q: dict[str, Any]) -> dict[str, Any]:
    """``q`` after a trip through the fhir.resources model (as another FHIR tool would)."""
    return json.loads(Questionnaire.model_validate(q).model_dump_json(exclude_none=True))


# ---------------------------------------------------------------- our own definitions


def _bundled_params():
    files = definition_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no instruments/*.yaml yet"))]
    return [pytest.param(path, id=path.stem) for path in files]


@pytest.mark.parametrize("path", [*_bundled_params(), pytest.param(FULL, id="fixture-full")])
def test_export_is_plain_r4_and_round_trips_in_every_language(path):
    inst = load_file(path)
    for lang in inst.languages:
        q = to_questionnaire(inst, lang=lang)
        assert_plain_r4(q)
        assert q["language"] == lang
        assert from_questionnaire(q) == inst.to_definition()
        assert from_questionnaire(reserialised(q)) == inst.to_definition()


@pytest.mark.parametrize("path", [*_bundled_params(), pytest.param(FULL, id="fixture-full")])
def test_yaml_to_fhir_to_yaml_keeps_the_content_hash(path, tmp_path):
    inst = load_file(path)
    json_file = tmp_path / f"{inst.id}.json"
    json_file.write_text(json.dumps(to_questionnaire(inst, lang=inst.languages[-1])))
    yaml_text = from_questionnaire_file(json_file)
    again = parse(yaml_text, "again.yaml")
    assert again.content_hash == inst.content_hash
    assert again == parse(path.read_text(encoding="utf-8"), str(path))
    # Items, options, codes, texts, pages, scales, licence and scoring, spelled out:
    assert again.items == inst.items
    assert again.pages == inst.pages
    assert again.scales == inst.scales
    assert again.licence == inst.licence
    assert again.scoring == inst.scoring
    assert again.title == inst.title and again.languages == inst.languages


def test_the_six_contract_instruments_are_bundled():
    ids = {load_file(p).id for p in definition_files()}
    missing = CONTRACT_IDS - ids
    if missing == CONTRACT_IDS:
        pytest.skip("no contract instrument definitions bundled yet")
    assert not missing, f"not bundled yet: {sorted(missing)}"


def test_export_maps_every_part_of_the_full_fixture():
    inst = load_file(FULL)
    q = to_questionnaire(inst, lang="nn")
    assert q["url"] == "urn:openprom:questionnaire:full_demo"
    assert (q["id"], q["name"], q["version"]) == ("full-demo", "FULL_DEMO", "2.1")
    assert q["title"] == "Fullt døme"
    assert q["description"] == "Svar på alle spørsmåla."
    assert q["copyright"] == "Test fixture; no licence needed."
    assert q["identifier"] == [{"system": "urn:openprom:content-hash", "value": inst.content_hash}]
    translations = {
        part["extension"][0]["valueCode"]: part["extension"][1]["valueString"]
        for part in q["_title"]["extension"]
    }
    assert translations == {"nb": "Fullt eksempel", "en": "Full example"}

    p1, p2 = q["item"]
    assert (p1["linkId"], p1["type"], p1["text"]) == ("p1", "group", "Del 1")
    assert (p2["linkId"], p2["type"], "text" in p2) == ("p2", "group", False)
    info, q01, q02 = p1["item"]
    vas, q03 = p2["item"]
    assert (info["type"], info["text"]) == ("display", "Først nokre spørsmål.")
    assert (q01["type"], q01["required"], q01["text"]) == ("choice", True, "Korleis har du det?")
    codings = [o["valueCoding"] for o in q01["answerOption"]]
    assert [(c["system"], c["code"], c["display"]) for c in codings] == [
        ("urn:openprom:full_demo:q01", "1", "Bra"),
        ("urn:openprom:full_demo:q01", "2", "Dårleg"),
        ("urn:openprom:full_demo:q01", "9", "Ikkje aktuelt"),
    ]
    assert q01["answerOption"][2]["extension"] == [
        {"url": EXT + "not-applicable", "valueBoolean": True}
    ]
    (help_item,) = q01["item"]
    assert (help_item["linkId"], help_item["type"], help_item["text"]) == (
        "q01-help",
        "display",
        "Tenk på i dag.",
    )
    assert help_item["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "help"
    assert q02["enableWhen"] == [
        {
            "question": "q01",
            "operator": "=",
            "answerCoding": {"system": "urn:openprom:full_demo:q01", "code": "2"},
        }
    ]
    assert "enableBehavior" not in q02
    assert vas["type"] == "integer"
    assert {e["url"].rsplit("/", 1)[1]: e["valueInteger"] for e in vas["extension"]} == {
        "minValue": 0,
        "maxValue": 100,
    }
    lower, upper = vas["item"]
    assert (lower["linkId"], lower["text"]) == ("vas-lower", "Verst tenkjelege")
    assert (upper["linkId"], upper["text"]) == ("vas-upper", "Best tenkjelege")
    assert q03["enableBehavior"] == "all"
    assert q03["enableWhen"][0] == {"question": "vas", "operator": "<", "answerInteger": 50}


def test_export_rejects_a_language_the_file_lacks():
    with pytest.raises(ValueError, match="has no language 'nn'"):
        to_questionnaire(load_file(FIXTURES / "minimal.yaml"), lang="nn")


def test_a_page_named_like_an_item_gets_its_own_link_id():
    text = (FIXTURES / "full.yaml").read_text(encoding="utf-8").replace("- id: p2", "- id: vas")
    inst = parse(text)
    q = to_questionnaire(inst, lang="nb")
    assert_plain_r4(q)
    assert q["item"][1]["linkId"] == "vas-page"
    assert from_questionnaire(q) == inst.to_definition()


def test_pages_that_reorder_items_keep_the_item_order():
    text = FULL.read_text(encoding="utf-8").replace(
        "items: [info, q01, q02]", "items: [q02, q01, info]"
    )
    inst = parse(text)
    q = to_questionnaire(inst, lang="en")
    assert [i["linkId"] for i in q["item"][0]["item"]] == ["q02", "q01", "info"]
    assert from_questionnaire(q) == inst.to_definition()


# ---------------------------------------------------------------- third-party Questionnaires


def _helsenorge() -> dict[str, Any]:
    return json.loads(HELSENORGE.read_text(encoding="utf-8"))


def test_third_party_fixture_is_valid_fhir():
    Questionnaire.model_validate(_helsenorge())


def test_third_party_questionnaire_imports_every_item_with_its_codes():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = from_questionnaire(_helsenorge())
    messages = [str(w.message) for w in caught if issubclass(w.category, FhirImportWarning)]
    assert messages == [
        "no openprom licence information; wrote a placeholder saying the licence is unknown",
        "dropped the 'en' translation: linkId '1.1' has none",
    ]
    assert (data["id"], data["version"], data["kind"]) == ("hv_smerte", "1", "prom")
    assert data["languages"] == ["nb"]  # nb-NO; en-GB only on some texts, so dropped
    assert data["title"] == {"nb": "Smerteskjema"}
    assert data["intro"] == {"nb": "Skjema om smerte før time."}
    assert data["licence"]["required"] is True
    assert data["licence"]["holder"] == "Helse Testvest"
    assert data["licence"]["notice"].startswith("Licence unknown")
    assert data["scoring"] == {"algorithm": "none", "missing": "none"}
    assert data["fhir"] == {
        "name": "HV_Smerte",
        "status": "draft",
        "publisher": "Helse Testvest",
        "language": "nb-NO",
        "id": "bc0517c7-975b-4582-89b6-064005224c5c",
    }
    items = {i["id"]: i for i in data["items"]}
    assert list(items) == ["q1_1", "q1_2", "q1_3", "q1_4", "q1_4_1", "q2_1", "q3"]
    assert [items[i]["link_id"] for i in items] == ["1.1", "1.2", "1.3", "1.4", "1.4.1", "2.1", "3"]
    assert items["q1_1"]["required"] is True
    assert items["q1_1"]["help"] == {"nb": "Tenk på den siste uken."}
    assert items["q1_1"]["help_link_id"] == "1.1-help"
    vs = "urn:oid:2.16.578.1.12.4.1.9523"
    assert [(o["code"], o["system"], o["label"]["nb"]) for o in items["q1_1"]["options"]] == [
        ("1", vs, "Ja"),
        ("2", vs, "Nei"),
        ("3", vs, "Usikker"),
    ]
    assert (items["q1_2"]["min"], items["q1_2"]["max"]) == (0, 10)
    assert items["q1_2"]["enable_when"] == [{"item": "q1_1", "operator": "=", "answer": "1"}]
    assert items["q1_3"]["type"] == "string"
    assert (items["q1_4"]["type"], items["q1_4"]["text"]) == ("display", {"nb": "Detaljer"})
    assert [o["code"] for o in items["q2_1"]["options"]] == ["0", "1", "2"]
    # The group's condition moves down to the items of its page:
    assert items["q2_1"]["enable_when"] == [{"item": "q1_1", "operator": "!=", "answer": "2"}]
    assert [(p["id"], p.get("link_id"), p.get("title"), p["items"]) for p in data["pages"]] == [
        ("q1", "1", {"nb": "Om deg"}, ["q1_1", "q1_2", "q1_3", "q1_4", "q1_4_1"]),
        ("q2", "2", {"nb": "Søvn"}, ["q2_1"]),
        ("page_q3", None, None, ["q3"]),
    ]


def _english(text: str) -> dict[str, Any]:
    """A ``_text`` element holding an en-GB translation."""
    parts = [{"url": "lang", "valueCode": "en-GB"}, {"url": "content", "valueString": text}]
    return {"extension": [{"url": TRANSLATION, "extension": parts}]}


def test_third_party_translations_present_everywhere_are_kept():
    q = _helsenorge()
    choice = q["item"][0]["item"][0]  # the choice item with the contained value set
    choice["_text"] = _english("Are you in pain?")
    choice["item"][0]["_text"] = _english("Think of the last week.")
    q["item"] = [choice]
    del q["description"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        data = from_questionnaire(q)
    assert data["languages"] == ["nb", "en"]
    (item,) = data["items"]
    assert item["text"] == {"nb": "Har du smerter?", "en": "Are you in pain?"}
    assert item["help"] == {"nb": "Tenk på den siste uken.", "en": "Think of the last week."}
    assert item["options"][2]["label"] == {"nb": "Usikker", "en": "Unsure"}
    assert data["title"] == {"nb": "Smerteskjema", "en": "Pain form"}


def test_a_plain_questionnaire_without_groups_has_no_pages():
    q = {
        "resourceType": "Questionnaire",
        "status": "active",
        "name": "Plain",
        "language": "en",
        "item": [
            {
                "linkId": "a",
                "type": "choice",
                "text": "Pick",
                "answerOption": [{"valueInteger": 0}, {"valueInteger": 1}],
            }
        ],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        data = from_questionnaire(q)
    assert "pages" not in data
    assert data["items"][0]["options"] == [
        {"code": 0, "label": {"en": "0"}, "fhir_type": "valueInteger"},
        {"code": 1, "label": {"en": "1"}, "fhir_type": "valueInteger"},
    ]


ENGLISH_TEXTS = {
    "1": "About you",
    "1.1": "Are you in pain?",
    "1.1-help": "Think of the last week.",
    "1.2": "How strong is the pain (0-10)?",
    "1.3": "Comment",
    "1.4": "Details",
    "1.4.1": "Answer as best you can.",
    "2": "Sleep",
    "2.1": "How often does pain wake you?",
    "3": "Thank you.",
}


def _language_bundle(*, translate_options: bool = True) -> dict[str, Any]:
    """structor's multi-language export: a Bundle with one Questionnaire per language."""
    main = _helsenorge()
    del main["_title"]
    for concept in main["contained"][0]["compose"]["include"][0]["concept"]:
        del concept["designation"]
    english = copy.deepcopy(main)
    english.update(id="pain-en", language="en-GB", title="Pain form")
    english["description"] = "Pain form before the appointment."
    for item in _walk(english["item"]):
        item["text"] = ENGLISH_TEXTS[item["linkId"]]
    if translate_options:
        for option, label in zip(
            english["item"][1]["item"][0]["answerOption"], ["Never", "Some nights", "Every night"]
        ):
            option["valueCoding"]["display"] = label
        concepts = english["contained"][0]["compose"]["include"][0]["concept"]
        for concept, label in zip(concepts, ["Yes", "No", "Unsure"]):
            concept["display"] = label
    sami = copy.deepcopy(main)
    sami.update(id="pain-se", language="se-NO", title="Bávččas")
    return {"resourceType": "Bundle", "type": "searchset", "entry": [main, english, sami]}


def test_a_language_bundle_imports_with_every_translation():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = from_questionnaire(_language_bundle(), skip_unsupported=True)
    messages = [str(w.message) for w in caught]
    assert "dropped the translations into 'se-NO' (openprom holds nb, nn, en)" in messages
    assert data["languages"] == ["nb", "en"]
    assert data["title"] == {"nb": "Smerteskjema", "en": "Pain form"}
    assert data["intro"]["en"] == "Pain form before the appointment."
    items = {i["id"]: i for i in data["items"]}
    assert items["q1_1"]["text"] == {"nb": "Har du smerter?", "en": "Are you in pain?"}
    assert items["q1_1"]["help"]["en"] == "Think of the last week."
    assert [o["label"] for o in items["q1_1"]["options"]] == [
        {"nb": "Ja", "en": "Yes"},
        {"nb": "Nei", "en": "No"},
        {"nb": "Usikker", "en": "Unsure"},
    ]
    assert items["q2_1"]["options"][2]["label"] == {"nb": "Hver natt", "en": "Every night"}
    assert data["pages"][1]["title"] == {"nb": "Søvn", "en": "Sleep"}


def test_a_language_bundle_with_copied_option_labels_drops_that_language():
    # structor copies option labels unchanged into the translated Questionnaire: a copied
    # Norwegian label is not an English translation, so English cannot be complete.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = from_questionnaire(_language_bundle(translate_options=False), skip_unsupported=True)
    assert data["languages"] == ["nb"]
    assert any("dropped the 'en' translation" in str(w.message) for w in caught)


def test_a_copied_label_without_letters_counts_as_translated():
    def questionnaire(language: str, text: str) -> dict[str, Any]:
        options = [{"valueCoding": {"code": str(c), "display": str(c)}} for c in (0, 1, 2)]
        item = {"linkId": "a", "type": "choice", "text": text, "answerOption": options}
        return {"resourceType": "Questionnaire", "status": "active", "name": "Pain"} | {
            "language": language,
            "title": text,
            "item": [item],
        }

    bundle = {
        "resourceType": "Bundle",
        "entry": [questionnaire("nb", "Smerte"), questionnaire("en", "Pain")],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        data = from_questionnaire(bundle)
    assert data["languages"] == ["nb", "en"]
    assert data["items"][0]["options"][2]["label"] == {"nb": "2", "en": "2"}


def test_wrapped_bundle_entries_and_empty_bundles():
    bundle = _language_bundle()
    bundle["entry"] = [{"resource": q} for q in bundle["entry"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        assert from_questionnaire(bundle, skip_unsupported=True)["languages"] == ["nb", "en"]
    with pytest.raises(FhirImportError, match="^the Bundle holds no Questionnaire$"):
        from_questionnaire({"resourceType": "Bundle", "entry": []})


# ---------------------------------------------------------------- errors


def _q(*items: dict[str, Any], **top: Any) -> dict[str, Any]:
    base = {"resourceType": "Questionnaire", "status": "active", "name": "T", "language": "en"}
    return base | top | {"item": list(items)}


CHOICE = {
    "linkId": "q1",
    "type": "choice",
    "text": "Pick",
    "answerOption": [{"valueCoding": {"code": "1", "display": "One"}}],
}
SKIP_HINT = " is not supported (use --skip-unsupported to leave such items out)"

BAD_QUESTIONNAIRES = {
    "array": ([1, 2], "not a FHIR Questionnaire (the JSON is not an object)"),
    "patient": (
        {"resourceType": "Patient"},
        "not a FHIR Questionnaire (resourceType is 'Patient')",
    ),
    "no-link-id": (_q({"type": "integer", "text": "Age"}), "item without linkId (text 'Age')"),
    "item-type": (
        _q({"linkId": "at", "type": "time", "text": "When"}),
        "linkId 'at': item type 'time'" + SKIP_HINT,
    ),
    "repeats": (
        _q({"linkId": "q1", "type": "string", "text": "Names", "repeats": True}),
        "linkId 'q1': a repeating string item (several answers)" + SKIP_HINT,
    ),
    "repeating-group": (
        _q({"linkId": "g", "type": "group", "repeats": True, "item": [CHOICE]}),
        "linkId 'g': repeating group (answered several times)" + SKIP_HINT,
    ),
    "option-code": (
        _q(CHOICE | {"answerOption": [{"valueCoding": {"display": "a"}}]}),
        "linkId 'q1': an answerOption valueCoding without a code",
    ),
    "option-date": (
        _q(CHOICE | {"answerOption": [{"valueDate": "2020-01-01"}]}),
        "linkId 'q1': answerOption with valueDate is not supported "
        "(valueCoding, valueInteger or valueString)",
    ),
    "no-options": (
        _q({"linkId": "q1", "type": "choice", "text": "Pick"}),
        "linkId 'q1': a choice item without answerOption or answerValueSet",
    ),
    "external-value-set": (
        _q({"linkId": "q1", "type": "choice", "text": "Pick", "answerValueSet": "http://x/vs"}),
        "linkId 'q1': answerValueSet 'http://x/vs' is neither contained in the Questionnaire "
        "nor one of the value sets shipped with openprom (python -m instruments value-sets "
        "lists them); add it to 'contained'",
    ),
    "bound": (
        _q(
            {
                "linkId": "age",
                "type": "integer",
                "text": "Age",
                "extension": [
                    {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueString": "0"}
                ],
            }
        ),
        "linkId 'age': minValue is not a number",
    ),
    "enable-when-target": (
        _q(
            CHOICE,
            {
                "linkId": "q2",
                "type": "display",
                "text": "Hi",
                "enableWhen": [{"question": "q9", "operator": "=", "answerInteger": 1}],
            },
        ),
        "linkId 'q2': enableWhen names unknown linkId 'q9'",
    ),
    "enable-when-time": (
        _q(
            CHOICE,
            {
                "linkId": "q2",
                "type": "display",
                "text": "Hi",
                "enableWhen": [{"question": "q1", "operator": ">", "answerTime": "10:00:00"}],
            },
        ),
        "linkId 'q2': enableWhen with answerTime is not supported",
    ),
    "enable-behavior-missing": (
        _q(
            CHOICE,
            {
                "linkId": "q2",
                "type": "display",
                "text": "Hi",
                "enableWhen": [
                    {"question": "q1", "operator": "=", "answerCoding": {"code": "1"}},
                    {"question": "q1", "operator": "exists", "answerBoolean": True},
                ],
            },
        ),
        "linkId 'q2': several enableWhen need enableBehavior (R4 que-12)",
    ),
    "link-id-twice": (_q(CHOICE, CHOICE), "linkId 'q1': used twice (R4 que-2)"),
    "no-items": (_q(), "the Questionnaire has no items openprom can hold"),
    "language": (
        _q(CHOICE, language="de"),
        "language 'de' is not supported (openprom holds nb, nn, en)",
    ),
    "no-language": (
        _q(CHOICE, language=""),
        "the Questionnaire has no language; say which one its texts are in (--language nb|nn|en)",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_QUESTIONNAIRES))
def test_bad_questionnaires_give_clear_errors(name):
    resource, message = BAD_QUESTIONNAIRES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        with pytest.raises(FhirImportError) as err:
            from_questionnaire(resource)
    assert str(err.value) == message


def test_an_invalid_result_lists_the_definition_problems():
    q = to_questionnaire(load_file(FULL), lang="nb")
    q["extension"] = [e for e in q["extension"] if e["url"] != EXT + "languages"]
    q["extension"].append({"url": EXT + "languages", "valueString": '["nb", "nn", "en", "xx"]'})
    with pytest.raises(FhirImportError) as err:
        from_questionnaire(q)
    assert str(err.value).startswith("the converted definition is invalid:\n  languages.3: ")


def test_not_json_and_missing_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Questionnaire",\n', encoding="utf-8")
    with pytest.raises(FhirImportError) as err:
        from_questionnaire_file(bad)
    assert str(err.value) == (
        "not JSON: Expecting property name enclosed in double quotes (line 2, column 1)"
    )
    with pytest.raises(FhirImportError, match="^cannot read: No such file or directory$"):
        from_questionnaire_file(tmp_path / "absent.json")


# ---------------------------------------------------------------- command line


def test_cli_fhir_prints_a_questionnaire(capsys):
    assert main(["fhir", str(FULL), "--lang", "en"]) == 0
    q = json.loads(capsys.readouterr().out)
    assert_plain_r4(q)
    assert q["title"] == "Full example"


def test_cli_fhir_unknown_language_and_instrument(capsys):
    assert main(["fhir", str(FULL), "--lang", "de"]) == 2
    assert "has no language 'de'" in capsys.readouterr().err
    assert main(["fhir", "no_such_instrument"]) == 2
    assert "unknown instrument 'no_such_instrument'" in capsys.readouterr().err


def test_cli_fhir_by_bundled_id(capsys):
    files = definition_files()
    if not files:
        pytest.skip("no instruments/*.yaml yet")
    inst = load_file(files[0])
    assert main(["fhir", inst.id, "--lang", inst.languages[-1]]) == 0
    q = json.loads(capsys.readouterr().out)
    assert q["url"] == f"urn:openprom:questionnaire:{inst.id}"
    assert q["language"] == inst.languages[-1]


def test_cli_from_fhir_writes_a_valid_definition(tmp_path, capsys):
    json_file, yaml_file = tmp_path / "q.json", tmp_path / "q.yaml"
    assert main(["fhir", str(FULL), "-o", str(json_file)]) == 0
    assert main(["from-fhir", str(json_file), "-o", str(yaml_file)]) == 0
    assert capsys.readouterr().err == ""
    assert load_file(yaml_file).content_hash == load_file(FULL).content_hash


def test_cli_from_fhir_errors_and_warnings(tmp_path, capsys):
    q = _helsenorge()
    q["item"][0]["item"].append({"linkId": "1.5", "type": "time", "text": "Når?"})
    q["item"][0]["item"].append({"linkId": "1.6", "type": "url", "text": "Lenke"})
    path = tmp_path / "q.json"
    path.write_text(json.dumps(q), encoding="utf-8")
    assert main(["from-fhir", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: {path}: linkId '1.5': item type 'time'{SKIP_HINT}\n"
        f"error: {path}: linkId '1.6': item type 'url'{SKIP_HINT}\n"
        f"0 of 1 files converted\n"
    )
    assert main(["from-fhir", "--skip-unsupported", str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"warning: {path}: item type 'time' at linkId '1.5' is not supported; left out" in err
    assert parse(out).id == "hv_smerte"


# ---------------------------------------------------------------- robustness

_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=5,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


_SOURCES = {
    "export": to_questionnaire(load_file(FULL), lang="nb"),
    "helsenorge": _helsenorge(),
    "bundle": _language_bundle(),
}
_TARGETS = [(name, path) for name, q in _SOURCES.items() for path in _paths(q)[1:]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_TARGETS), _junk, st.booleans())
def test_import_of_a_damaged_questionnaire_fails_only_with_fhir_import_error(target, junk, skip):
    name, path = target
    q = copy.deepcopy(_SOURCES[name])
    node = q
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = junk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FhirImportWarning)
        try:
            data = from_questionnaire(q, skip_unsupported=skip)
        except FhirImportError as exc:
            assert str(exc)
            return
    assert check(data, "x") == []
