"""Audit log: every view, search, export and change touching identifiable data.

Events are append-only (no update or delete through the app). They name the patient by
internal id only, never by register ID.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, request
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEvent, User

# Actions that show a patient's identifiable data to a member of staff.
PATIENT_LOOKS = {
    "patient.search": "søkte deg opp",
    "patient.view": "så på svarene dine",
    "patient.print": "skrev ut et sammendrag",
    "scores.cli": "hentet skårene dine fra kommandolinjen",
}


def record(
    action: str,
    *,
    actor_type: str,
    actor_id: int | None = None,
    actor_label: str = "",
    patient_id: int | None = None,
    subject: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (committed with the caller's transaction).

    ``actor_type`` is ``user``, ``patient``, ``cli`` or ``system``; ``action`` a short verb
    like ``patient.view``, ``patient.search``, ``export.create``, ``scores.cli``.
    """
    event = AuditEvent(
        action=action,
        actor_type=actor_type,
        actor_id=actor_id,
        actor_label=actor_label,
        patient_id=patient_id,
        subject=subject,
        ip=request.remote_addr if has_request_context() else None,
        details=details or {},
    )
    db.session.add(event)
    return event


@dataclass(frozen=True)
class Look:
    """One time staff looked at a patient's data, as the patient is shown it."""

    at: dt.datetime
    who: str
    what: str


def looks_at(patient_id: int) -> list[Look]:
    """Who has looked at ``patient_id``'s data (newest first), for the patient's innsyn."""
    rows = db.session.execute(
        select(AuditEvent, User)
        .outerjoin(User, (AuditEvent.actor_id == User.id) & (AuditEvent.actor_type == "user"))
        .where(AuditEvent.patient_id == patient_id, AuditEvent.action.in_(PATIENT_LOOKS))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    looks = []
    for event, user in rows:
        if user is not None:
            roles = ", ".join(sorted({r.role for r in user.roles}))
            units = ", ".join(sorted({r.unit.title for r in user.roles if r.unit is not None}))
            who = f"{user.display_name or user.email} ({roles}{', ' + units if units else ''})"
        else:
            who = event.actor_label or "systemet"
        at = event.at if event.at.tzinfo else event.at.replace(tzinfo=dt.UTC)
        looks.append(Look(at, who, PATIENT_LOOKS[event.action]))
    return looks
