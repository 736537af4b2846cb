"""Security events: failed logins, lockouts, wrong second-factor codes, denials, blocked
token guessing, logouts, password and factor changes.

Each event goes to the audit log (append-only, committed with the caller's transaction)
and to the ``openprom.security`` logger as one structured (JSON) line with its UTC time
(``at``, ISO 8601). Refused requests of patients and of anyone not signed in (CSRF,
NUL characters, too large) are logged only (``to_audit=False``: no database write per
refused request, see :func:`webapp.http_policy.record_refused`). Neither ever carries
a national ID, a password, a code or a token: e-mail addresses are hashed in the log
line (the audit row keeps the account id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from flask import has_request_context, request

from webapp.services import audit

log = logging.getLogger("openprom.security")


def _email_ref(email: str | None) -> str | None:
    if not email:
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def record(
    event: str,
    *,
    user_id: int | None = None,
    email: str | None = None,
    outcome: str = "failure",
    details: dict[str, Any] | None = None,
    subject: str | None = None,
    to_audit: bool = True,
) -> None:
    """Write security event ``event`` (e.g. ``login.failed``) to the audit log and the log.

    ``email`` is kept in the audit row's actor label (staff addresses are not health data)
    and only as a short hash in the log line. ``subject`` (default: the event) goes to the
    audit row, e.g. ``register:<name>`` so the register's admins see the event. With
    ``to_audit=False`` only the log line is written.
    """
    ip = request.remote_addr if has_request_context() else None
    if to_audit:
        audit.record(
            f"security.{event}",
            actor_type="security",
            actor_id=user_id,
            actor_label=(email or "")[:254],
            subject=subject or event,
            details={"outcome": outcome, **(details or {})},
        )
    line = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "event": event,
        "outcome": outcome,
        "user_id": user_id,
        "email_ref": _email_ref(email),
        "ip": ip,
        "endpoint": request.endpoint if has_request_context() else None,
        **(details or {}),
    }
    level = logging.INFO if outcome == "success" else logging.WARNING
    log.log(level, json.dumps(line, sort_keys=True, default=str))
