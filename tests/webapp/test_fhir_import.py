"""``flask import-responses``: good, bad, duplicate and wrong-patient files (SQLite here;
tests/db/test_fhir_import_db.py runs the core cases on PostgreSQL too)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.webapp.fhir_support import (
    DNR,
    DNR_SYSTEM,
    FNR,
    FNR_SYSTEM,
    HELSENORGE_QR,
    NOT_REGISTERED,
    qr,
    seed,
)
from webapp.extensions import db
from webapp.models import AuditEvent, Invitation, Response, ResponseImport, Score


def _write(tmp_path: Path, resources: list, name: str = "in.ndjson") -> Path:
    path = tmp_path / name
    lines = [r if isinstance(r, str) else json.dumps(r) for r in resources]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def _import(app, path: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["import-responses", str(path), "--register", "hip", *extra]
    return app.test_cli_runner().invoke(args=args)


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def seeded(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        return seed()


def _good(tmp_path: Path) -> Path:
    dnr = qr(
        national_id=DNR, system=DNR_SYSTEM, identifier="qr-0002", authored="2025-06-10T08:00:00Z"
    )  # 3 months: 2025-06-02 .. 2025-07-02
    return _write(tmp_path, [HELSENORGE_QR, dnr])


def test_good_file_is_stored_scored_and_audited(app, seeded, tmp_path):
    result = _import(app, _good(tmp_path), "--mode", "helsenorge")
    assert result.exit_code == 0, result.stderr
    assert "stored 2 response(s); 0 already imported" in result.output
    with app.app_context():
        rows = db.session.scalars(select(Response).order_by(Response.id)).all()
        assert [(r.mode, r.status) for r in rows] == [("helsenorge", "complete")] * 2
        first, second = rows
        assert first.answers == {"MO": 1, "SC": 2, "UA": 3, "PD": 4, "AD": 5, "VAS": 70}
        assert first.invitation.time_point.name == "baseline"
        assert first.invitation.enrolment.patient_id == seeded["patients"]["fnr"]
        assert second.invitation.time_point.name == "3m"
        assert second.invitation.enrolment.patient_id == seeded["patients"]["dnr"]
        # completed when authored (10:15 at +01:00 is 09:15 UTC)
        assert first.completed_at.strftime("%Y-%m-%d %H:%M") == "2025-03-05 09:15"
        assert first.language == "nb"
        # scored like a web answer. EQ-5D-5L user guide (EuroQol 2019): the profile is the
        # five level digits in the order MO SC UA PD AD; the EQ VAS is reported as given.
        scores = {s.scale: s for s in first.scores}
        assert scores["profile"].text_value == "12345"
        assert scores["vas"].value == 70
        assert scores["index"].value is not None and scores["index"].value_set == "NO"
        # the time point had one instrument: its invitation is complete now
        assert first.invitation.state == "completed"
        assert first.invitation.completed_at is not None
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "response.import")
        ).all()
        assert sorted(e.patient_id for e in events) == sorted(
            [seeded["patients"]["fnr"], seeded["patients"]["dnr"]]
        )
        assert all(e.details["mode"] == "helsenorge" for e in events)
        keys = db.session.scalars(select(ResponseImport.import_key)).all()
        assert sorted(keys) == [
            "urn:uuid:helsenorge-test|qr-0001",
            "urn:uuid:helsenorge-test|qr-0002",
        ]


def test_dry_run_stores_nothing(app, seeded, tmp_path):
    result = _import(app, _good(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "2 response(s) would be stored" in result.output
    with app.app_context():
        assert _count(Response) == 0 and _count(ResponseImport) == 0


def test_reimport_stores_nothing_twice(app, seeded, tmp_path):
    path = _good(tmp_path)
    assert _import(app, path).exit_code == 0
    again = _import(app, path)
    assert again.exit_code == 0, again.stderr
    assert "stored 0 response(s); 2 already imported" in again.output
    with app.app_context():
        assert _count(Response) == 2 and _count(Score) == 6 and _count(ResponseImport) == 2


def test_a_resource_without_identifier_is_recognised_by_its_content(app, seeded, tmp_path):
    path = _write(tmp_path, [qr(identifier=None)])
    assert _import(app, path).exit_code == 0
    again = _import(app, path)
    assert "stored 0 response(s); 1 already imported" in again.output
    with app.app_context():
        assert _count(Response) == 1


def test_the_same_resource_twice_in_one_file_is_stored_once(app, seeded, tmp_path):
    result = _import(app, _write(tmp_path, [HELSENORGE_QR, HELSENORGE_QR]))
    assert "stored 1 response(s); 1 already imported" in result.output
    with app.app_context():
        assert _count(Response) == 1


def test_same_identifier_with_other_content_is_refused(app, seeded, tmp_path):
    assert _import(app, _write(tmp_path, [HELSENORGE_QR])).exit_code == 0
    changed = qr(answers={"VAS": [{"valueInteger": 20}]})
    result = _import(app, _write(tmp_path, [changed], "changed.ndjson"))
    assert result.exit_code == 1
    assert "resource 1: -: this identifier was imported before with other content" in result.stderr


def test_bad_file_lists_every_problem_and_stores_nothing(app, seeded, tmp_path):
    resources = [
        HELSENORGE_QR,  # good, but refused with the rest
        qr(
            identifier="b2",
            answers={"MO": [{"valueCoding": {"code": "9"}}], "VAS": [{"valueString": "70"}]},
        ),
        qr(identifier="b3", answers={"SC": None}),  # required item missing
        "{not json",
        {**qr(identifier="b5"), "status": "in-progress"},
        qr(identifier="b6", national_id="03851598731"),  # check digit wrong
        {**qr(identifier="b7"), "item": [{"linkId": "XX", "answer": [{"valueInteger": 1}]}]},
        {**qr(identifier="b8"), "questionnaire": "http://example.org/Questionnaire/phq9|1"},
        {"resourceType": "Patient", "id": "p1"},
    ]
    result = _import(app, _write(tmp_path, resources))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    expected = [
        "resource 2: MO: code '9' is not an answer option of this item",
        "resource 2: VAS: valueString does not answer a integer item (valueInteger expected)",
        "resource 3: SC: required, but not answered",
        "resource 4: -: not JSON",
        "resource 5: -: status is 'in-progress'; only completed is imported",
        "resource 6: -: subject.identifier.value is not a valid fødselsnummer",
        "resource 7: XX: no item with this linkId in eq5d5l",
        "resource 8: -: unknown questionnaire 'http://example.org/Questionnaire/phq9'",
        "resource 9: -: resourceType is 'Patient', not QuestionnaireResponse",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, lines)
    assert not any(line.startswith("resource 1:") for line in lines)
    assert "problem(s)" in result.stderr and "nothing was imported" in result.stderr
    assert FNR not in result.stderr + result.output  # never echo the national ID
    with app.app_context():
        assert _count(Response) == 0 and _count(ResponseImport) == 0 and _count(Score) == 0
        refused = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "response.import.refused")
        ).all()
        assert len(refused) == 1


def test_wrong_patients_are_refused(app, seeded, tmp_path):
    resources = [
        qr(identifier="w1", national_id=NOT_REGISTERED),  # enrolled in another register
        qr(identifier="w2", national_id="01010050053"),  # valid number, unknown patient
        qr(identifier="w3", national_id=DNR, system=FNR_SYSTEM),  # D-number as fnr
        qr(identifier="w4", authored="2025-05-01T12:00:00Z"),  # between the windows
        qr(identifier="w5", system="urn:oid:2.16.578.1.12.4.1.4.3"),  # wrong system
        qr(identifier="w6", authored="2025-03-05T10:15:00"),  # no time zone
    ]
    result = _import(app, _write(tmp_path, resources))
    assert result.exit_code == 1
    text = result.stderr
    assert "resource 1: -: the patient is not enrolled in register 'hip'" in text
    assert "resource 2: -: no patient with this national ID is registered in openprom" in text
    assert "resource 3: -: subject.identifier.value is a D-number, but the system says" in text
    assert (
        "resource 4: -: no time point of the patient's enrolment in 'hip' asks for eq5d5l" in text
    )
    assert "resource 5: -: subject.identifier.system must be" in text
    # R4 dateTime: "If hours and minutes are specified, a time zone SHALL be populated"
    assert "resource 6: -: not valid FHIR R4: authored: Value error, DateTime value" in text
    with app.app_context():
        assert _count(Response) == 0


def test_a_time_point_answered_on_the_web_is_not_overwritten(app, seeded, tmp_path):
    assert _import(app, _write(tmp_path, [HELSENORGE_QR])).exit_code == 0
    other = qr(identifier="second-source", answers={"VAS": [{"valueInteger": 20}]})
    result = _import(app, _write(tmp_path, [other], "second.ndjson"))
    assert result.exit_code == 1
    assert "was answered already" in result.stderr
    with app.app_context():
        (response,) = db.session.scalars(select(Response)).all()
        assert response.answers["VAS"] == 70


def test_unknown_register_and_mode(app, seeded, tmp_path):
    path = _write(tmp_path, [HELSENORGE_QR])
    result = app.test_cli_runner().invoke(
        args=["import-responses", str(path), "--register", "nope"]
    )
    assert result.exit_code != 0 and "unknown register 'nope'" in result.output
    result = _import(app, path, "--mode", "sms")
    assert result.exit_code != 0
    with app.app_context():
        assert _count(Invitation) == 6 and _count(Response) == 0
