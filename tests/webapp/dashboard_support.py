"""A register with scripted ODI totals for the dashboard tests (values chosen so that every
expected number can be worked out by hand; see ``test_dashboard.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from webapp.extensions import db
from webapp.models import (
    Enrolment,
    Invitation,
    Patient,
    Protocol,
    Register,
    Response,
    RoleAssignment,
    Score,
    TimePoint,
    Unit,
    User,
    utcnow,
)
from webapp.national_id import synthetic_number
from webapp.services.passwords import hash_password
from webapp.services.patients import get_or_create_patient

PASSWORD = "correct horse battery staple"

# (index date, ODI total at baseline, ODI total at 12 months); None = not answered.
UNIT_1 = (
    (dt.date(2024, 2, 1), 50.0, 30.0),
    (dt.date(2024, 3, 1), 40.0, 35.0),
    (dt.date(2024, 4, 1), 60.0, 20.0),
    (dt.date(2025, 2, 1), 44.0, 40.0),
    (dt.date(2025, 3, 1), 30.0, 10.0),
    (dt.date(2025, 4, 1), 52.0, None),
)
UNIT_2 = (
    (dt.date(2024, 5, 1), 70.0, 20.0),
    (dt.date(2024, 6, 1), 64.0, 60.0),
    (dt.date(2025, 5, 1), 48.0, None),
)


def _numbers(count: int) -> list[str]:
    out: list[str] = []
    individual = 100
    while len(out) < count:
        number = synthetic_number(
            dt.date(1960, 1, 1) + dt.timedelta(days=len(out) * 37), individual
        )
        individual += 1
        if number:
            out.append(number)
    return out


def _user(email: str, role: str, unit: Unit | None = None, register: Register | None = None):  # type: ignore[no-untyped-def]
    user = User(email=email, display_name=email, password_hash=hash_password(PASSWORD))
    user.roles.append(
        RoleAssignment(
            role=role,
            unit_id=unit.id if unit else None,
            register_id=register.id if register else None,
        )
    )
    db.session.add(user)
    return user


def follow_with_odi_totals(
    patient_id: int,
    unit: Unit,
    protocol: Protocol,
    index: dt.date,
    values: Sequence[float | None],
) -> Enrolment:
    """Enrol a patient with one ODI total per time point (None = not answered).

    Invitations are open for 30 days from index date + offset; an unanswered one whose
    window has passed is ``expired``. Answered ones get a complete response and a score.
    """
    enrolment = Enrolment(
        patient_id=patient_id, protocol_id=protocol.id, unit_id=unit.id, index_date=index
    )
    db.session.add(enrolment)
    db.session.flush()
    for tp, value in zip(protocol.time_points, values, strict=True):
        opens = dt.datetime.combine(index, dt.time(), dt.UTC) + dt.timedelta(tp.offset_days)
        expires = opens + dt.timedelta(days=30)
        inv = Invitation(
            enrolment_id=enrolment.id,
            time_point_id=tp.id,
            opens_at=opens,
            expires_at=expires,
            state="expired" if expires <= utcnow() else "scheduled",
        )
        db.session.add(inv)
        db.session.flush()
        if value is None:
            continue
        inv.state, inv.completed_at = "completed", opens + dt.timedelta(days=2)
        response = Response(
            invitation_id=inv.id,
            instrument_id="odi",
            instrument_version="2.1a",
            instrument_hash="sha256:test",
            language="nb",
            mode="self",
            status="complete",
            answers={"q01": 2, "q02": 1},
            completed_at=inv.completed_at,
        )
        db.session.add(response)
        db.session.flush()
        db.session.add(
            Score(
                response_id=response.id,
                scale="total",
                value=value,
                algorithm_version="odi-test",
                value_set="",
            )
        )
    return enrolment


def new_patient():  # type: ignore[no-untyped-def]
    """A patient with a synthetic national ID not used by :func:`build`."""
    taken = db.session.query(Patient).count()
    patient, created = get_or_create_patient(_numbers(taken + 1)[-1])
    assert created
    return patient


def build() -> dict[str, int]:
    """Register ``qi-reg`` with units ``qi-1`` (6 patients) and ``qi-2`` (3 patients)."""
    register = Register(name="qi-reg", title="QI register")
    db.session.add(register)
    db.session.flush()
    unit_1 = Unit(name="qi-1", title="Unit One", register_id=register.id)
    unit_2 = Unit(name="qi-2", title="Unit Two", register_id=register.id)
    db.session.add_all([unit_1, unit_2])
    db.session.flush()
    protocol = Protocol(register_id=register.id, name="lumbar", title="Lumbar", window_days=30)
    protocol.time_points = [
        TimePoint(name="baseline", title="Before", offset_days=0, position=0, instruments=["odi"]),
        TimePoint(name="12m", title="12 months", offset_days=365, position=1, instruments=["odi"]),
    ]
    db.session.add(protocol)
    db.session.flush()
    numbers = iter(_numbers(len(UNIT_1) + len(UNIT_2)))
    for unit, rows in ((unit_1, UNIT_1), (unit_2, UNIT_2)):
        for index, before, after in rows:
            patient, _ = get_or_create_patient(next(numbers))
            follow_with_odi_totals(patient.id, unit, protocol, index, (before, after))
    users = {
        "lead_1": _user("lead1@qi.test", "unit_lead", unit=unit_1),
        "clinician_1": _user("clin1@qi.test", "clinician", unit=unit_1),
        "admin": _user("admin@qi.test", "register_admin", register=register),
        "method": _user("method@qi.test", "methodologist", register=register),
    }
    db.session.commit()
    return {key: user.id for key, user in users.items()}
