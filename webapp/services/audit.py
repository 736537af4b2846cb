"""Audit log: every view, search, export and change touching identifiable data.

Events are append-only (no update or delete through the app). They name the patient by
internal id only, never by register ID.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from webapp.extensions import db
from webapp.models import AuditEvent, User


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


def record_by(user: User, action: str, **fields: Any) -> AuditEvent:
    """:func:`record` for a signed-in member of staff (``actor_type`` ``user``)."""
    return record(action, actor_type="user", actor_id=user.id, actor_label=user.email, **fields)
