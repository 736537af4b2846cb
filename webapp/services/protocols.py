"""Protocols and enrolment: enrolling a patient creates the schedule of invitations.

Each time point of the protocol gets one invitation that opens on its due date (index date
+ offset, midnight UTC) and expires ``protocol.window_days`` later.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Enrolment, Invitation, Patient, Protocol, Unit


class ProtocolError(ValueError):
    """An enrolment request that cannot be carried out (unknown unit, protocol ...)."""


def find_unit(name: str) -> Unit:
    """The unit named ``name``; ProtocolError when there is none."""
    unit = db.session.scalar(select(Unit).where(Unit.name == name))
    if unit is None:
        raise ProtocolError(f"no unit named {name!r}")
    return unit


def find_protocol(name: str, unit: Unit) -> Protocol:
    """The protocol ``name`` of the unit's register; ProtocolError when there is none."""
    protocol = db.session.scalar(
        select(Protocol).where(Protocol.register_id == unit.register_id, Protocol.name == name)
    )
    if protocol is None:
        known = db.session.scalars(
            select(Protocol.name).where(Protocol.register_id == unit.register_id)
        ).all()
        raise ProtocolError(
            f"no protocol named {name!r} in the register of unit {unit.name!r}"
            f" (known: {', '.join(known) or 'none'})"
        )
    if not protocol.time_points:
        raise ProtocolError(f"protocol {name!r} has no time points")
    return protocol


def due_at(index_date: dt.date, offset_days: int) -> dt.datetime:
    """When a time point opens: midnight UTC of index date + offset."""
    return dt.datetime.combine(index_date + dt.timedelta(days=offset_days), dt.time(), dt.UTC)


def enrol(patient: Patient, protocol: Protocol, unit: Unit, index_date: dt.date) -> Enrolment:
    """Enrol ``patient`` and create one scheduled invitation per time point (not committed)."""
    existing = db.session.scalar(
        select(Enrolment).where(
            Enrolment.patient_id == patient.id,
            Enrolment.protocol_id == protocol.id,
            Enrolment.unit_id == unit.id,
            Enrolment.index_date == index_date,
        )
    )
    if existing is not None:
        raise ProtocolError(
            f"the patient is already enrolled in {protocol.name!r} at {unit.name!r}"
            f" with index date {index_date.isoformat()}"
        )
    enrolment = Enrolment(
        patient_id=patient.id, protocol_id=protocol.id, unit_id=unit.id, index_date=index_date
    )
    db.session.add(enrolment)
    db.session.flush()
    for time_point in protocol.time_points:
        opens = due_at(index_date, time_point.offset_days)
        db.session.add(
            Invitation(
                enrolment_id=enrolment.id,
                time_point_id=time_point.id,
                opens_at=opens,
                expires_at=opens + dt.timedelta(days=protocol.window_days),
                state="scheduled",
                language=patient.language,
            )
        )
    db.session.flush()
    return enrolment
