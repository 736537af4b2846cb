"""Set-up for the adaptive (item-bank) patient-flow tests: a protocol whose baseline asks
the synthetic demonstration bank adaptively, then EQ-5D-5L."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from webapp.extensions import db
from webapp.models import Register, Unit
from webapp.services.invitations import issue_token
from webapp.services.patients import get_or_create_patient
from webapp.services.protocols import TimePointSpec, define_protocol, enrol

BANK = "demo-physical-function-bank"
PATIENT_ID = "17845810001"  # synthetic test number (Skatteetaten's +80 month convention)
ADAPTIVE = {
    "start_theta": 0.0,
    "select": "max_info",
    "stop_se": 0.3,
    "max_items": 12,
    "min_items": 4,
    "exposure": "randomesque",
}


@dataclass
class AdaptiveWorld:
    """Ids of the enrolled patient and the baseline link token."""

    patient_id: int
    invitation_id: int
    protocol_id: int
    token: str


def make_adaptive_world(
    instruments: tuple[str, ...] = (BANK, "eq5d5l"), adaptive: dict | None = None
) -> AdaptiveWorld:
    """Register, unit, a protocol asking ``instruments`` at baseline, one enrolled patient
    (call inside an app context)."""
    register = Register(name="reg", title="Testregister")
    db.session.add(register)
    db.session.flush()
    unit = Unit(name="unit-1", title="Testsykehuset", register_id=register.id)
    db.session.add(unit)
    db.session.flush()
    protocol = define_protocol(
        register,
        "cat-demo",
        "CAT demo",
        [TimePointSpec("baseline", "Før", 0, instruments)],
        adaptive=dict(ADAPTIVE if adaptive is None else adaptive),
    )
    patient, _ = get_or_create_patient(PATIENT_ID, language="nb")
    enrolment = enrol(patient, protocol, unit, dt.date.today())
    invitation = enrolment.invitations[0]
    token = issue_token(invitation)
    db.session.commit()
    return AdaptiveWorld(patient.id, invitation.id, protocol.id, token)


def shown_item(html: str) -> tuple[str, int]:
    """(item id, step) of a rendered adaptive page."""
    item = re.search(r'name="(pf\d\d)"', html)
    step = re.search(r'name="step" type="hidden" value="(\d+)"', html)
    assert item and step, "not an adaptive item page"
    return item.group(1), int(step.group(1))


def answer_for(item_id: str) -> int:
    """A fixed synthetic respondent: code 2..5 from the item's number (varied answers)."""
    return 2 + int(item_id[2:]) % 4
