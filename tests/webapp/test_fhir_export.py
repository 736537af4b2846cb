"""``flask export --format fhir``: QuestionnaireResponse and Observation NDJSON, read back
and compared with the database (answers, pseudonyms, scores), each resource valid R4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

import instruments
from instruments.fhir import to_questionnaire
from tests.conftest import national_ids_in
from tests.webapp.export_support import ANSWERS, TEST_IDS, seed_register
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.services.export import ExportError, export_register, parse_formats
from webapp.services.fhir_resources import PSEUDONYM_SYSTEM, SCORE_SYSTEM


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _answers(items: list[dict]) -> dict[str, list[dict]]:
    found = {}
    for item in items:
        if "answer" in item:
            found[item["linkId"]] = item["answer"]
        found.update(_answers(item.get("item", [])))
    return found


def _link_ids(items: list[dict]) -> list[str]:
    out = []
    for item in items:
        out.append(item["linkId"])
        out += _link_ids(item.get("item", []))
    return out


@pytest.fixture
def exported(app, tmp_path):  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_register()
    out = tmp_path / "out"
    result = app.test_cli_runner().invoke(
        args=["export", "--register", "hip-register", "--out", str(out), "--format", "fhir"]
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_fhir_only_writes_the_two_ndjson_files_and_the_codebook(exported):
    out, output = exported
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "Observation.ndjson",
        "QuestionnaireResponse.ndjson",
        "codebook.json",
        "codebook.md",
    ]
    assert "eq5d5l: 3 responses" in output


def test_one_valid_completed_response_a_line_with_the_stored_answers(app, exported):
    out, _ = exported
    lines = _lines(out / "QuestionnaireResponse.ndjson")
    assert len(lines) == 3  # the draft is left out
    key = register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "hip-register")
    inst = instruments.load("eq5d5l")
    questionnaire_links = set(_link_ids(to_questionnaire(inst, "nb")["item"]))
    for line, nid, stored in zip(lines, TEST_IDS, ANSWERS, strict=True):
        QuestionnaireResponse.model_validate(line)
        assert line["status"] == "completed"
        assert line["questionnaire"] == "urn:openprom:questionnaire:eq5d5l|1"  # version stored
        assert line["subject"] == {
            "identifier": {"system": PSEUDONYM_SYSTEM, "value": pseudonym(nid, key)}
        }
        assert line["authored"] == "2025-02"  # month only, as in the tabular export
        assert set(_link_ids(line["item"])) <= questionnaire_links
        answers = _answers(line["item"])
        for dim in ("MO", "SC", "UA", "PD", "AD"):
            (coding,) = [a["valueCoding"] for a in answers[dim]]
            assert coding["system"] == f"urn:openprom:eq5d5l:{dim}"
            assert coding["code"] == str(stored[dim])
        assert answers["VAS"] == [{"valueInteger": stored["VAS"]}]
        extensions = {e["url"].rsplit(":", 1)[1]: e for e in line["extension"]}
        assert extensions["days-from-index"]["valueInteger"] == 24
        assert extensions["time-point"]["valueString"] == "baseline"
        assert extensions["mode"]["valueCode"] == "self"


def test_scores_are_observations_derived_from_their_response(exported):
    out, _ = exported
    responses = _lines(out / "QuestionnaireResponse.ndjson")
    observations = _lines(out / "Observation.ndjson")
    assert len(observations) == 9  # index, vas, profile for each of 3 responses
    by_response: dict[str, dict[str, dict]] = {}
    for obs in observations:
        Observation.model_validate(obs)
        (ref,) = obs["derivedFrom"]
        coding = obs["code"]["coding"][0]
        assert coding["system"] == SCORE_SYSTEM + "eq5d5l"
        by_response.setdefault(ref["reference"], {})[coding["code"]] = obs
    for n, (qr, stored) in enumerate(zip(responses, ANSWERS, strict=True)):
        scores = by_response[f"QuestionnaireResponse/{qr['id']}"]
        assert scores["index"]["valueQuantity"]["value"] == pytest.approx(0.5 + n / 10)
        assert scores["index"]["extension"][0]["valueString"] == "NO"
        assert scores["vas"]["valueQuantity"]["value"] == stored["VAS"]
        profile = "".join(str(stored[k]) for k in ("MO", "SC", "UA", "PD", "AD"))
        assert scores["profile"]["valueString"] == profile
        assert scores["index"]["subject"] == qr["subject"]


def test_no_national_id_in_the_fhir_files(exported):
    out, _ = exported
    for path in out.iterdir():
        text = path.read_text("utf-8")
        assert national_ids_in(text) == []
        for nid in TEST_IDS:
            assert nid not in text


def test_fhir_next_to_tabular_formats(app, tmp_path):
    with app.app_context():
        seed_register()
        result = export_register("hip-register", tmp_path / "out", formats=("csv", "fhir"))
    assert result.rows == {"eq5d5l": 3}
    assert (tmp_path / "out" / "eq5d5l.csv").exists()
    assert len(_lines(tmp_path / "out" / "QuestionnaireResponse.ndjson")) == 3


def test_format_names():
    assert parse_formats("csv,fhir") == ("csv", "fhir")
    assert "fhir" not in parse_formats(None)  # the default stays the four tabular formats
    with pytest.raises(ExportError, match="fhir"):
        parse_formats("xml")
