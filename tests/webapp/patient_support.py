"""Shared set-up for the patient-flow tests: a register, unit, protocol and patients."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from webapp.extensions import db
from webapp.models import Protocol, Register, TimePoint, Unit
from webapp.services.invitations import issue_token
from webapp.services.patients import get_or_create_patient
from webapp.services.protocols import enrol

# Synthetic test numbers (month + 80, Skatteetaten's convention); the child's and the
# second are published by Skatteetaten (folkeregisteret-api-dokumentasjon).
PATIENT_ID = "17845810001"  # born 1958-04-17
SECOND_ID = "30908299902"  # born 1982
CHILD_ID = "03851598730"  # born 2015-05-03
INVALID_ID = "17845810002"  # last check digit changed

UNIT_TITLE = "Testsykehuset, poliklinikken"


@dataclass
class Enrolled:
    """Ids of a patient enrolled today in the test protocol, and the baseline link token."""

    patient_id: int
    enrolment_id: int
    invitation_id: int
    token: str


def make_protocol(instruments: tuple[str, ...] = ("eq5d5l", "odi")) -> Protocol:
    """Register ``reg``, unit ``unit-1`` and protocol ``lumbar`` (baseline, 3m, 12m)."""
    register = Register(name="reg", title="Nasjonalt register for ryggkirurgi")
    db.session.add(register)
    db.session.flush()
    db.session.add(Unit(name="unit-1", title=UNIT_TITLE, register_id=register.id))
    protocol = Protocol(
        register_id=register.id, name="lumbar", title="Lumbar", window_days=30, reminder_days=7
    )
    protocol.time_points = [
        TimePoint(
            name="baseline", title="Før", offset_days=0, position=0, instruments=list(instruments)
        ),
        TimePoint(
            name="3m", title="3 mnd", offset_days=91, position=1, instruments=list(instruments)
        ),
        TimePoint(
            name="12m", title="12 mnd", offset_days=365, position=2, instruments=list(instruments)
        ),
    ]
    db.session.add(protocol)
    db.session.commit()
    return protocol


def enrol_patient(
    national_id: str = PATIENT_ID,
    *,
    email: str | None = None,
    index_date: dt.date | None = None,
    language: str = "nb",
) -> Enrolled:
    """Enrol a patient (index date today) and issue a token for the baseline invitation."""
    protocol = db.session.query(Protocol).filter_by(name="lumbar").one()
    unit = db.session.query(Unit).filter_by(name="unit-1").one()
    patient, _ = get_or_create_patient(national_id, email=email, language=language)
    enrolment = enrol(patient, protocol, unit, index_date or dt.date.today())
    baseline = enrolment.invitations[0]
    token = issue_token(baseline)
    db.session.commit()
    return Enrolled(patient.id, enrolment.id, baseline.id, token)


def setup_world(app, **kwargs) -> Enrolled:  # type: ignore[no-untyped-def]
    """Protocol + one enrolled patient, inside an app context."""
    with app.app_context():
        make_protocol()
        return enrol_patient(**kwargs)


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    if match is None:
        match = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def idem_from(html: str) -> str:
    """The idempotency key in a rendered questionnaire page."""
    match = re.search(r'id="idem" name="idem" type="hidden" value="([0-9a-f]+)"', html)
    assert match, "no idempotency key in the page"
    return match.group(1)


EQ5D_ANSWERS = {"MO": 1, "SC": 1, "UA": 2, "PD": 3, "AD": 1, "VAS": 70}
ODI_ANSWERS = {f"q{i:02d}": 1 for i in range(1, 11)}


def answer_everything(client, token: str, eq5d=EQ5D_ANSWERS, odi=ODI_ANSWERS):  # type: ignore[no-untyped-def]
    """Answer the start page and every page of EQ-5D-5L and ODI; returns the last response."""
    client.post(f"/s/{token}/start", data={"mode": "self"})
    for index, (item, value) in enumerate(eq5d.items()):
        page = client.get(f"/s/{token}/q/eq5d5l/{index}")
        assert page.status_code == 200, page.status_code
        client.post(
            f"/s/{token}/q/eq5d5l/{index}",
            data={item: str(value), "idem": idem_from(page.text)},
        )
    last = None
    for index, (item, value) in enumerate(odi.items()):
        page = client.get(f"/s/{token}/q/odi/{index}")
        last = client.post(
            f"/s/{token}/q/odi/{index}", data={item: str(value), "idem": idem_from(page.text)}
        )
    return last
