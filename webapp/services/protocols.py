"""Protocols and enrolment: enrolling a patient creates the schedule of invitations.

Each time point of the protocol gets one invitation that opens on its due date (index date
+ offset, midnight UTC) and expires ``protocol.window_days`` later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

import instruments
from webapp.extensions import db
from webapp.models import Enrolment, Invitation, Patient, Protocol, Register, TimePoint, Unit
from webapp.services.adaptive import AdaptiveError, check_settings


class ProtocolError(ValueError):
    """An enrolment request that cannot be carried out (unknown unit, protocol ...)."""


@dataclass(frozen=True)
class TimePointSpec:
    """A time point to define: name, title, days after the index date, instrument ids."""

    name: str
    title: str
    offset_days: int
    instruments: tuple[str, ...]


def define_protocol(
    register: Register,
    name: str,
    title: str,
    time_points: Sequence[TimePointSpec],
    *,
    window_days: int = 30,
    reminder_days: int | None = 7,
    adaptive: dict[str, Any] | None = None,
) -> Protocol:
    """Create a protocol after checking it (instruments exist, names unique, days sane).

    ``adaptive``: the CAT settings its item banks are asked with (the ``adaptive:`` block:
    start_theta, select, stop_se, max_items, min_items, exposure, ...); engine defaults
    when None; an error when given for a protocol that asks no item bank.
    """
    if window_days < 1:
        raise ProtocolError("window_days must be at least 1")
    if reminder_days is not None and not 0 < reminder_days < window_days:
        raise ProtocolError("reminder_days must be between 1 and window_days - 1")
    if not time_points:
        raise ProtocolError("a protocol needs at least one time point")
    names = [tp.name for tp in time_points]
    if len(set(names)) != len(names):
        raise ProtocolError(f"time point names must be unique (got {', '.join(names)})")
    banks = 0
    for tp in time_points:
        if not tp.instruments:
            raise ProtocolError(f"time point {tp.name!r} has no instruments")
        for instrument_id in tp.instruments:
            try:
                banks += instruments.load(instrument_id).kind == "item-bank"
            except KeyError as exc:
                raise ProtocolError(f"time point {tp.name!r}: {exc.args[0]}") from None
    if adaptive is not None:
        if not banks:
            raise ProtocolError("adaptive: is given, but no time point asks an item bank")
        try:
            check_settings(adaptive)
        except AdaptiveError as exc:
            raise ProtocolError(str(exc)) from None
    protocol = Protocol(
        register_id=register.id,
        name=name,
        title=title,
        window_days=window_days,
        reminder_days=reminder_days,
        adaptive=dict(adaptive) if adaptive is not None else None,
    )
    protocol.time_points = [
        TimePoint(
            name=tp.name,
            title=tp.title,
            offset_days=tp.offset_days,
            position=position,
            instruments=list(tp.instruments),
        )
        for position, tp in enumerate(sorted(time_points, key=lambda t: t.offset_days))
    ]
    db.session.add(protocol)
    db.session.flush()
    return protocol


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
    """Enrol ``patient`` and create one scheduled invitation per time point (not committed).

    Refused for a patient withdrawn from the register, and without a recorded consent in a
    consent-based register (:mod:`webapp.services.withdrawal`).
    """
    from webapp.services.pseudonyms_index import add_enrolled
    from webapp.services.withdrawal import WithdrawalError, check_enrolment

    try:
        check_enrolment(patient, unit.register)
    except WithdrawalError as exc:
        raise ProtocolError(str(exc)) from None
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
    add_enrolled(patient, unit.register)  # the stored pseudonym the FHIR API searches
    for time_point in protocol.time_points:
        opens = due_at(index_date, time_point.offset_days)
        db.session.add(
            Invitation(
                enrolment_id=enrolment.id,
                time_point_id=time_point.id,
                unit_id=unit.id,
                index_year=index_date.year,
                opens_at=opens,
                expires_at=opens + dt.timedelta(days=protocol.window_days),
                state="scheduled",
                language=patient.language,
            )
        )
    db.session.flush()
    return enrolment
