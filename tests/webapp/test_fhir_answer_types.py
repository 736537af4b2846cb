"""Every item type of a FHIR Questionnaire in the patient flow: rendered, checked, stored
(texts encrypted at rest), shown again, submitted and exported, walked with the Flask
client through tests/webapp/fixtures/answer_types.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

import instruments
import instruments.loader
from tests.webapp.patient_support import PATIENT_ID, idem_from
from webapp.extensions import db
from webapp.models import Invitation, Protocol, Register, Response, TimePoint, Unit
from webapp.services.export import export_register
from webapp.services.invitations import issue_token
from webapp.services.patients import get_or_create_patient
from webapp.services.protocols import enrol

FIXTURE = Path(__file__).parent / "fixtures" / "answer_types.yaml"
IID = "answertypes"  # no hyphen: SPSS variable names allow none
PAGE_1 = {
    "feeling": "LA6569-3",
    "symptoms": ["a", "c"],
    "other": "Svimmelhet om morgenen",
    "smoker": "true",
    "packs": "2",
}
PAGE_2 = {
    "weight": "72,5",
    "temp": "37.2",
    "name": "Kari",
    "comment": "Vondt i ryggen\netter operasjonen",
    "born": "2025-02-01",
    "seen": "2025-03-01T14:30",
}
STORED = {
    "feeling": "LA6569-3",
    "symptoms": ["a", "c"],
    "other": "Svimmelhet om morgenen",
    "smoker": True,
    "packs": 2,
    "weight": 72.5,
    "temp": 37.2,
    "name": "Kari",
    "comment": "Vondt i ryggen\netter operasjonen",
    "born": "2025-02-01",
    "seen": "2025-03-01T14:30:00+01:00",  # typed in Norwegian (winter) time
}
FREE_TEXTS = ("Svimmelhet", "Kari", "Vondt i ryggen")
LOINC = "http://loinc.org"


@pytest.fixture
def token(app, monkeypatch):  # type: ignore[no-untyped-def]
    bundled = instruments.loader.load_all()
    fixture = instruments.load_file(FIXTURE)
    monkeypatch.setattr(instruments.loader, "load_all", lambda: {**bundled, IID: fixture})
    with app.app_context():
        register = Register(name="types", title="Types")
        db.session.add(register)
        db.session.flush()
        unit = Unit(name="types-unit", title="Types", register_id=register.id)
        protocol = Protocol(register_id=register.id, name="p", title="P", window_days=30)
        protocol.time_points = [
            TimePoint(name="baseline", title="0", offset_days=0, position=0, instruments=[IID])
        ]
        db.session.add_all([unit, protocol])
        db.session.flush()
        patient, _ = get_or_create_patient(PATIENT_ID)
        import datetime as dt

        enrolment = enrol(patient, protocol, unit, dt.date.today())
        secret = issue_token(enrolment.invitations[0])
        db.session.commit()
    return secret


def _post(client, token: str, page: int, data: dict):  # type: ignore[no-untyped-def]
    shown = client.get(f"/s/{token}/q/{IID}/{page}")
    assert shown.status_code == 200
    return client.post(f"/s/{token}/q/{IID}/{page}", data={**data, "idem": idem_from(shown.text)})


def _stored(app) -> Response:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalars(select(Response)).one()


def test_pages_render_every_type(client, token):
    client.post(f"/s/{token}/start", data={"mode": "self"})
    first = client.get(f"/s/{token}/q/{IID}/0").text
    assert '<span class="prefix">1.</span>' in first
    assert 'type="radio" id="feeling-1" name="feeling" value="LA6569-3"' in first
    assert first.count('type="checkbox"') == 3 and 'name="symptoms" value="c"' in first
    assert 'list="other-options"' in first and '<option value="Ingen">' in first
    assert 'name="smoker" value="true"' in first and 'name="smoker" value="false"' in first
    assert _post(client, token, 0, PAGE_1).status_code == 302  # page 2 opens after page 1
    second = client.get(f"/s/{token}/q/{IID}/1").text
    assert second.count('inputmode="decimal"') == 2 and '<span class="unit">kg</span>' in second
    assert 'maxlength="10"' in second and "<textarea" in second
    assert 'type="date" id="born"' in second and 'type="datetime-local" id="seen"' in second


def test_walk_store_encrypted_show_again_submit_and_export(app, client, token, tmp_path):
    client.post(f"/s/{token}/start", data={"mode": "self"})
    assert _post(client, token, 0, PAGE_1).status_code == 302
    assert _post(client, token, 1, PAGE_2).status_code == 302
    response = _stored(app)
    assert response.answers == STORED
    with app.app_context():  # at rest: no text in clear, sealed values instead
        raw = db.session.execute(text("SELECT answers FROM response")).scalar_one()
    raw = raw if isinstance(raw, str) else json.dumps(raw)
    assert "$sealed" in raw and '"packs": 2' in raw.replace('"packs":2', '"packs": 2')
    for secret in FREE_TEXTS + ("LA6569-3",):
        assert secret not in raw
    again = client.get(f"/s/{token}/q/{IID}/0").text  # the saved answers are shown again
    assert 'value="c" checked' in again and 'value="b">' in again
    assert 'value="true" checked' in again and 'value="Svimmelhet om morgenen"' in again
    again = client.get(f"/s/{token}/q/{IID}/1").text
    assert 'value="2025-03-01T14:30"' in again and 'value="72.5"' in again
    assert client.get(f"/s/{token}/review").status_code == 200
    assert client.post(f"/s/{token}/submit").status_code in (302, 303)
    with app.app_context():
        assert db.session.scalars(select(Invitation.state)).one() == "completed"
        result = export_register("types", tmp_path, formats=("fhir",))
    assert result.rows == {IID: 1}
    qr = json.loads((tmp_path / "QuestionnaireResponse.ndjson").read_text("utf-8"))
    answers = {}
    stack = list(qr["item"])
    while stack:
        node = stack.pop()
        stack += node.get("item", [])
        if "answer" in node:
            answers[node["linkId"]] = node["answer"]
    assert answers["feeling"] == [
        {
            "valueCoding": {
                "system": "http://loinc.org",
                "code": "LA6569-3",
                "display": "Flere dager",
            }
        }  # fmt: skip
    ]
    assert [a["valueCoding"]["code"] for a in answers["symptoms"]] == ["a", "c"]
    assert answers["smoker"] == [{"valueBoolean": True}]
    assert answers["packs"] == [{"valueInteger": 2}]
    assert answers["weight"][0]["valueQuantity"]["value"] == 72.5
    assert answers["weight"][0]["valueQuantity"]["code"] == "kg"
    assert answers["temp"] == [{"valueDecimal": 37.2}]
    assert answers["born"] == [{"valueDate": "2025-02-01"}]
    assert answers["seen"] == [{"valueDateTime": "2025-03-01T14:30:00+01:00"}]
    # free text is never exported unless the register says so
    assert not {"other", "name", "comment"} & set(answers)
    exported = (tmp_path / "QuestionnaireResponse.ndjson").read_text("utf-8")
    assert not any(secret in exported for secret in FREE_TEXTS)


def test_bad_answers_get_messages_and_nothing_is_saved(app, client, token):
    client.post(f"/s/{token}/start", data={"mode": "self"})
    bad = {**PAGE_1, "feeling": "LA0000-0", "smoker": "maybe"}
    shown = _post(client, token, 0, bad)
    assert shown.status_code == 422
    assert "Velg ja eller nei." in shown.text  # the patient's language (nb)
    assert _stored(app).answers == {}
    client_page = _post(client, token, 0, {**PAGE_1})
    assert client_page.status_code == 302
    too_long = {**PAGE_2, "name": "Kari Nordmann Hansen", "weight": "900", "born": "2025-13-01"}
    shown = _post(client, token, 1, too_long)
    assert shown.status_code == 422
    assert shown.text.count('class="error" id=') == 3
    for message in ("Skriv høyst 10 tegn.", "Skriv et tall fra 0.5 til 500.",
                    "Skriv inn en dato (dag, måned og år)."):  # fmt: skip
        assert message in shown.text
    assert "name" not in _stored(app).answers


def test_enable_when_on_a_boolean_of_the_same_page(app, client, token):
    client.post(f"/s/{token}/start", data={"mode": "self"})
    missing_packs = {k: v for k, v in PAGE_1.items() if k != "packs"}
    assert _post(client, token, 0, missing_packs).status_code == 422  # smoker yes: required
    non_smoker = {**missing_packs, "smoker": "false"}
    assert _post(client, token, 0, non_smoker).status_code == 302
    assert _stored(app).answers["smoker"] is False


def test_tabular_export_of_every_type_without_free_text(app, client, token, tmp_path):
    import pandas as pd
    import pyreadstat

    client.post(f"/s/{token}/start", data={"mode": "self"})
    _post(client, token, 0, {**PAGE_1, "other": "Ingen"})  # an option's label: its code
    _post(client, token, 1, PAGE_2)
    client.post(f"/s/{token}/submit")
    with app.app_context():
        export_register("types", tmp_path, formats=("csv", "parquet", "sav", "dta"))
    frame = pd.read_parquet(tmp_path / f"{IID}.parquet")
    columns = [c for c in frame.columns if c.startswith(IID)]
    exported = ("feeling", "symptoms", "other", "smoker", "packs", "weight", "temp", "born", "seen")
    assert columns == [f"{IID}_{i}" for i in exported]
    row = frame.iloc[0]
    assert row[f"{IID}_feeling"] == "LA6569-3" and row[f"{IID}_symptoms"] == "a;c"
    assert row[f"{IID}_other"] == "none"  # the option's code
    assert row[f"{IID}_smoker"] == 1.0 and row[f"{IID}_packs"] == 2.0
    assert row[f"{IID}_weight"] == 72.5 and row[f"{IID}_temp"] == 37.2
    assert row[f"{IID}_born"] == "2025-02-01"
    assert row[f"{IID}_seen"] == "2025-03-01T14:30:00+01:00"
    csv = pd.read_csv(tmp_path / f"{IID}.csv")
    assert csv[f"{IID}_symptoms"].tolist() == ["a;c"]
    sav, _ = pyreadstat.read_sav(str(tmp_path / f"{IID}.sav"))
    assert sav[f"{IID}_feeling"].tolist() == ["LA6569-3"]
    book = json.loads((tmp_path / "codebook.json").read_text("utf-8"))
    kinds = {v["name"]: v["type"] for v in book["instruments"][IID]["variables"]}
    assert kinds[f"{IID}_feeling"] == "string" and kinds[f"{IID}_weight"] == "number"
    for path in tmp_path.iterdir():
        if path.suffix in (".csv", ".md", ".json"):
            assert not any(s in path.read_text("utf-8") for s in FREE_TEXTS)


def test_an_open_choice_text_is_not_exported(app, client, token, tmp_path):
    client.post(f"/s/{token}/start", data={"mode": "self"})
    _post(client, token, 0, PAGE_1)
    _post(client, token, 1, PAGE_2)
    client.post(f"/s/{token}/submit")
    with app.app_context():
        export_register("types", tmp_path, formats=("csv",))
    text = (tmp_path / f"{IID}.csv").read_text("utf-8")
    assert "Svimmelhet" not in text


def test_import_of_every_answer_type(app, token, monkeypatch):
    """A QuestionnaireResponse with every value[x] is checked against the fixture and stored
    like web answers (texts sealed); wrong value types are refused per linkId."""
    from webapp.services import fhir_resources as fr
    from webapp.services.fhir_import import Actor, ImportRefused, import_responses

    monkeypatch.setattr(instruments, "load_all", instruments.loader.load_all)
    with app.app_context():
        inst = instruments.load(IID)
        canonical = fr.canonical(inst)
        enrolled = db.session.scalars(select(Invitation)).one()
        authored = (enrolled.opens_at.replace(tzinfo=None).isoformat()) + "+00:00"

    def item(link: str, *answers: dict) -> dict:
        return {"linkId": link, "answer": list(answers)}

    resource = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": canonical,
        "status": "completed",
        "subject": {"identifier": {"system": fr.FNR_SYSTEM, "value": PATIENT_ID}},
        "authored": authored,
        "item": [
            {"linkId": "p1", "item": [
                item("feeling", {"valueCoding": {"system": LOINC, "code": "LA6569-3"}}),
                item("symptoms", {"valueCoding": {"code": "a"}}, {"valueCoding": {"code": "c"}}),
                item("other", {"valueString": "Svimmelhet om morgenen"}),
                item("smoker", {"valueBoolean": True}),
                item("packs", {"valueInteger": 2}),
            ]},
            {"linkId": "p2", "item": [
                item("weight", {"valueQuantity": {"value": 72.5, "unit": "kg"}}),
                item("temp", {"valueDecimal": 37.2}),
                item("name", {"valueString": "Kari"}),
                item("comment", {"valueString": "Vondt i ryggen\netter operasjonen"}),
                item("born", {"valueDate": "2025-02-01"}),
                item("seen", {"valueDateTime": "2025-03-01T14:30:00+01:00"}),
            ]},
        ],
    }  # fmt: skip
    wrong = json.loads(json.dumps(resource))
    wrong["item"][0]["item"][3] = item("smoker", {"valueString": "yes"})
    wrong["item"][1]["item"][0] = item("weight", {"valueQuantity": {"value": 72.5, "unit": "lb"}})
    snomed = {"code": "LA6569-3", "system": "http://snomed.info/sct"}
    wrong["item"][0]["item"][0] = item("feeling", {"valueCoding": snomed})
    with app.app_context():
        register = db.session.scalars(select(Register)).one()
        actor = Actor("cli", label="test")
        with pytest.raises(ImportRefused) as refused:
            import_responses([(1, wrong)], register, mode="paper", actor=actor)
        links = sorted(p.link_id for p in refused.value.problems)
        # packs: its condition (smoker = yes) fails with smoker's answer refused
        assert links == ["feeling", "packs", "smoker", "weight"]
        report = import_responses([(1, resource)], register, mode="paper", actor=actor)
        assert report.stored == 1
    assert _stored(app).answers == STORED
    with app.app_context():
        raw = db.session.execute(text("SELECT answers FROM response")).scalar_one()
    raw = raw if isinstance(raw, str) else json.dumps(raw)
    assert not any(secret in raw for secret in FREE_TEXTS)
