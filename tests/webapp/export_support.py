"""Test data for the export tests: a register with EQ-5D-5L responses and scores."""

from __future__ import annotations

import datetime as dt

from webapp.extensions import db
from webapp.models import (
    Enrolment,
    Invitation,
    Protocol,
    Register,
    Response,
    Score,
    TimePoint,
    Unit,
)
from webapp.services.patients import get_or_create_patient

# Skatteetaten synthetic test numbers (third digit +8)
TEST_IDS = ("03851598730", "30908299902", "41819077906")
ANSWERS = (
    {"MO": 1, "SC": 2, "UA": 3, "PD": 4, "AD": 5, "VAS": 70},
    {"MO": 2, "SC": 1, "UA": 1, "PD": 2, "AD": 1, "VAS": 85},
    {"MO": 5, "SC": 5, "UA": 5, "PD": 5, "AD": 5, "VAS": 10},
)


def seed_register(name: str = "hip-register", unit_name: str = "unit-a") -> dict:
    """Register, unit, protocol, time point, three patients each with one complete response."""
    register = Register(name=name, title=name)
    unit = Unit(register=register, name=unit_name, title=unit_name)
    protocol = Protocol(register=register, name=f"{name}-proto", title="Protocol")
    point = TimePoint(protocol=protocol, name="baseline", title="Baseline", offset_days=0,
                      instruments=["eq5d5l"])
    db.session.add_all([register, unit, protocol, point])
    responses = []
    for n, (nid, answers) in enumerate(zip(TEST_IDS, ANSWERS, strict=True)):
        patient, _ = get_or_create_patient(nid)
        index = dt.date(2025, 1, 10 + n)
        enrolment = Enrolment(patient=patient, protocol=protocol, unit=unit, index_date=index)
        now = dt.datetime(2025, 2, 3 + n, 12, tzinfo=dt.UTC)
        invitation = Invitation(enrolment=enrolment, time_point=point, opens_at=now,
                                expires_at=now + dt.timedelta(days=30), state="completed")
        response = Response(invitation=invitation, instrument_id="eq5d5l",
                            instrument_version="1", instrument_hash="hash-1", language="nb",
                            mode="self", status="complete", answers=answers, completed_at=now)
        response.scores = [
            Score(scale="index", value=0.5 + n / 10, algorithm_version="eq5d-1", value_set="NO"),
            Score(scale="vas", value=answers["VAS"], algorithm_version="eq5d-1"),
            Score(scale="profile", text_value="".join(str(answers[k]) for k in
                  ("MO", "SC", "UA", "PD", "AD")), algorithm_version="eq5d-1"),
        ]
        db.session.add_all([enrolment, invitation, response])
        responses.append(response)
    # a draft must never be exported
    first = responses[0].invitation
    followup = TimePoint(protocol=protocol, name="3m", title="3 months", offset_days=90,
                         position=1, instruments=["eq5d5l"])
    later = Invitation(enrolment=first.enrolment, time_point=followup, opens_at=first.opens_at,
                       expires_at=first.expires_at, state="open")
    draft = Response(invitation=later, instrument_id="eq5d5l",
                     instrument_version="1", instrument_hash="hash-1", language="nb",
                     status="draft", answers={"MO": 1})
    db.session.add(draft)
    db.session.commit()
    return {"register": register, "unit": unit, "responses": responses}
