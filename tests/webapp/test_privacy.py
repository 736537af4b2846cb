"""No national ID in any log line, URL, command output or export file of a whole working
day: enrol and invite from the command line, the patient answers, a clinician searches and
views, the unit lead opens the dashboard, the register exports, the CLI prints scores.

(The session-wide watch in ``tests/conftest.py`` scans every other test's logs and URLs.)
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd
import pyreadstat

from tests.conftest import national_ids_in
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import AuditEvent, RoleAssignment, Unit, User
from webapp.services.auth import start_session
from webapp.services.passwords import hash_password

PATIENT = support.PATIENT_ID


def test_scanner_finds_valid_numbers_only():
    text = f"id {PATIENT} bad {support.INVALID_ID} ts 20261201212 hash 3f{PATIENT}a"
    assert national_ids_in(text) == [PATIENT, PATIENT]  # also when embedded in letters
    assert national_ids_in("no numbers here, 1234567890") == []


def _staff(app, email: str, role: str):  # type: ignore[no-untyped-def]
    with app.app_context():
        unit = db.session.query(Unit).filter_by(name="unit-1").one()
        user = User(email=email, display_name=email, password_hash=hash_password("x" * 16))
        user.roles.append(RoleAssignment(role=role, unit_id=unit.id))
        db.session.add(user)
        db.session.commit()
        token = start_session(user, "127.0.0.1")
    client = app.test_client()
    client.set_cookie("openprom_session", token)
    return client


def test_a_day_of_work_leaks_no_national_id(app, tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        support.make_protocol()
    cli = app.test_cli_runner()
    seen: list[str] = []

    enrolled = cli.invoke(args=["enrol", PATIENT, "--protocol", "lumbar", "--unit", "unit-1"])
    assert enrolled.exit_code == 0, enrolled.output
    invited = cli.invoke(args=["invite", PATIENT])
    assert invited.exit_code == 0, invited.output
    seen += [enrolled.output, invited.output]
    token = re.search(r"/s/([A-Za-z0-9_-]+)", invited.output).group(1)

    patient = app.test_client()
    support.answer_everything(patient, token)
    done = patient.post(f"/s/{token}/submit")
    assert done.status_code in (200, 302)
    seen.append(patient.get(f"/s/{token}/thanks").get_data(as_text=True))

    clinician = _staff(app, "clin@privacy.test", "clinician")
    found = clinician.post("/clinician/patients/search", data={"national_id": PATIENT})
    assert found.status_code == 302
    seen += [found.location, clinician.get(found.location).get_data(as_text=True)]
    seen.append(clinician.get(found.location + "/summary").get_data(as_text=True))
    lead = _staff(app, "lead@privacy.test", "unit_lead")
    seen.append(lead.get("/clinician/units/unit-1/dashboard").get_data(as_text=True))
    seen.append(lead.get("/clinician/units/unit-1/dashboard.csv").get_data(as_text=True))

    scores = cli.invoke(args=["scores", PATIENT])
    assert scores.exit_code == 0 and '"odi"' in scores.output, scores.output
    seen.append(scores.output)
    out = tmp_path / "export"
    exported = cli.invoke(args=["export", "--register", "reg", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    seen.append(exported.output)

    files = sorted(out.iterdir())
    assert {p.suffix for p in files} >= {".csv", ".parquet", ".sav", ".dta", ".md", ".json"}
    for path in files:
        if path.suffix in (".csv", ".md", ".json"):
            seen.append(path.read_text(encoding="utf-8"))
        assert PATIENT.encode() not in path.read_bytes(), path
    for frame in (
        pd.read_parquet(out / "odi.parquet"),
        pyreadstat.read_sav(str(out / "odi.sav"))[0],
        pyreadstat.read_dta(str(out / "odi.dta"))[0],
    ):
        assert len(frame) == 1
        seen.append(frame.to_csv())

    with app.app_context():
        events = db.session.query(AuditEvent).all()
        assert {"patient.search", "patient.view", "export.create"} <= {e.action for e in events}
        seen += [f"{e.subject} {e.details}" for e in events]
    seen += [record.getMessage() for record in caplog.records]
    leaks = [text[:120] for text in seen if national_ids_in(text)]
    assert not leaks, leaks
