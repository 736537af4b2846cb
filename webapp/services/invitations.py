"""Invitation links: random tokens (only their SHA-256 is stored), lookup, guessing guard.

A token is 24 URL-safe characters (144 random bits). Looking up an unknown, expired or
used token costs the same (one hash, one indexed query) and the caller shows the same page
for each, so the answer is no oracle. A valid token always works (a patient holding a
real link is never throttled, whoever shares their address); failed lookups are counted
per client address and window in the database (:class:`AttemptCounter`, shared by every
worker and host), and past the limit a client's failed lookups get status 429 and one
``token.blocked`` security event per window. With 144 random bits per token, guessing
is hopeless anyway; the counter makes a guesser visible.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from functools import cache

from flask import current_app
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import joinedload

from webapp.crypto import token_hash
from webapp.extensions import db
from webapp.models import AttemptCounter, Enrolment, Invitation, Patient, TimePoint, utcnow
from webapp.services import attempt_counters, security_events

TOKEN_BYTES = 18
DEFAULT_FAILURE_WINDOW = 900  # seconds
DEFAULT_MAX_FAILURES = 20
DEFAULT_INNSYN_DAYS = 90


class InvitationError(ValueError):
    """No invitation can be chosen or issued (with a message for the operator)."""


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC datetime (SQLite returns naive datetimes)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def new_token() -> str:
    """A fresh random token (144 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def issue_token(invitation: Invitation) -> str:
    """Give ``invitation`` a new token (earlier links stop working); returns the token."""
    token = new_token()
    invitation.token_hash = token_hash(token)
    db.session.flush()
    return token


def link_for(token: str) -> str:
    """The short link patients open: ``BASE_URL/s/TOKEN``."""
    return f"{current_app.config['OPENPROM_BASE_URL']}/s/{token}"


@dataclass(frozen=True)
class Access:
    """What a valid link gives: the form (``answer``) or the patient's own results."""

    invitation: Invitation
    mode: str  # "answer" | "insight"


@cache
def _by_token() -> Select[tuple[Invitation]]:
    """The invitation with a token's hash, its time point and responses: one query.

    Built once (no statement construction or cache-key work per request). Every patient
    page needs the time point's instruments; the question page uses the responses as read
    here (``Invitation.responses``); anything that must see later writes reads them again.
    """
    return (
        select(Invitation)
        .where(Invitation.token_hash == bindparam("digest"))
        .options(joinedload(Invitation.time_point), joinedload(Invitation.responses))
    )


def resolve(token: str, now: dt.datetime | None = None) -> Access | None:
    """The invitation a token opens and for what, or None (unknown, expired, used, revoked).

    One indexed query, which also loads the time point and the responses.
    """
    now = now or utcnow()
    invitation = (
        db.session.execute(_by_token(), {"digest": token_hash(token)}).unique().scalar_one_or_none()
    )
    if invitation is None:
        return None
    mode = access_mode(
        invitation.state,
        invitation.opens_at,
        invitation.expires_at,
        invitation.completed_at,
        invitation.innsyn_until,
        now,
    )
    return None if mode is None else Access(invitation, mode)


def access_mode(
    state: str,
    opens_at: dt.datetime,
    expires_at: dt.datetime,
    completed_at: dt.datetime | None,
    innsyn_until: dt.datetime | None,
    now: dt.datetime,
) -> str | None:
    """What an invitation's link gives at ``now``: ``answer``, ``insight`` or None.

    Revoked: nothing. Completed: the patient's results until ``innsyn_until``. Otherwise
    the form while ``opens_at <= now < expires_at``.
    """
    if state == "revoked":
        return None
    if completed_at is not None:
        until = aware(innsyn_until)
        return "insight" if until is not None and now < until else None
    if aware(opens_at) > now or now >= aware(expires_at):  # type: ignore[operator]
        return None
    return "answer"


def set_language(invitation_id: int, language: str) -> None:
    """Remember the language a patient chose on their link (one update, committed)."""
    db.session.execute(
        update(Invitation).where(Invitation.id == invitation_id).values(language=language)
    )
    db.session.commit()


def innsyn_until(completed_at: dt.datetime) -> dt.datetime:
    """End of the period in which a patient can see their own answers after submitting."""
    days = int(current_app.config.get("OPENPROM_INNSYN_DAYS", DEFAULT_INNSYN_DAYS))
    return completed_at + dt.timedelta(days=days)


def _window() -> int:
    """Length of a failure-counting window in seconds (``OPENPROM_TOKEN_FAILURE_WINDOW``)."""
    return int(current_app.config.get("OPENPROM_TOKEN_FAILURE_WINDOW", DEFAULT_FAILURE_WINDOW))


def _max_failures() -> int:
    return int(current_app.config.get("OPENPROM_TOKEN_MAX_FAILURES", DEFAULT_MAX_FAILURES))


def _window_start(now: dt.datetime) -> dt.datetime:
    seconds = _window()
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC)


def retry_after(now: dt.datetime | None = None) -> int:
    """Seconds until the current failure window ends (for ``Retry-After``)."""
    now = now or utcnow()
    return max(1, _window() - int(now.timestamp()) % _window())


def failures(client_key: str, now: dt.datetime | None = None) -> int:
    """Failed token lookups from ``client_key`` in the current window (one indexed row)."""
    count = db.session.scalar(
        select(AttemptCounter.count).where(
            AttemptCounter.key == f"token:{client_key}",
            AttemptCounter.window_start == _window_start(now or utcnow()),
        )
    )
    return int(count or 0)


def is_blocked(client_key: str, now: dt.datetime | None = None) -> bool:
    """Whether ``client_key`` has failed more than the limit in this window."""
    return failures(client_key, now) > _max_failures()


def count_failure(client_key: str, now: dt.datetime | None = None) -> bool:
    """Count one failed lookup; True when ``client_key`` is now over the limit (blocked).

    One atomic increment of the (key, window) row (its unique index finds it), returning
    the new count; commits its own small transaction. The first failure past the limit in
    a window records the security event ``token.blocked`` (once: the counts are unique).
    """
    now = now or utcnow()
    count = attempt_counters.increment(f"token:{client_key}", _window_start(now), now)
    limit = _max_failures()
    if count == limit + 1:
        security_events.record(
            "token.blocked",
            details={"failures": count, "limit": limit, "window_seconds": _window()},
        )
    db.session.commit()
    return count > limit


def invitations_of(patient: Patient) -> list[Invitation]:
    """All invitations of a patient, by due date."""
    return list(
        db.session.scalars(
            select(Invitation)
            .join(Enrolment, Invitation.enrolment_id == Enrolment.id)
            .where(Enrolment.patient_id == patient.id)
            .order_by(Invitation.opens_at)
        )
    )


def choose_invitation(
    patient: Patient, time_point: str | None = None, now: dt.datetime | None = None
) -> Invitation:
    """The invitation to send: the named time point, or the one open now (not completed)."""
    now = now or utcnow()
    candidates = [i for i in invitations_of(patient) if i.completed_at is None]
    if time_point is not None:
        named = [
            i for i in candidates if db.session.get(TimePoint, i.time_point_id).name == time_point
        ]
        if not named:
            raise InvitationError(f"no open invitation for time point {time_point!r}")
        # a patient enrolled again (a second operation) has that time point twice: the one
        # still usable wins over an earlier, expired one
        usable = [i for i in named if now < aware(i.expires_at) and i.state != "revoked"]
        chosen = usable[0] if usable else named[-1]
    else:
        open_now = [i for i in candidates if aware(i.opens_at) <= now < aware(i.expires_at)]
        if not open_now:
            raise InvitationError("no invitation is open now; give --time-point NAME to choose one")
        chosen = open_now[0]
    if now >= aware(chosen.expires_at):
        raise InvitationError("that invitation has expired")
    if chosen.state == "revoked":
        raise InvitationError("that invitation was revoked")
    return chosen


def expire_overdue(now: dt.datetime | None = None) -> int:
    """Mark unanswered invitations whose window has passed as ``expired``; returns how many."""
    now = now or utcnow()
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.completed_at.is_(None),
            Invitation.expires_at <= now,
            Invitation.state.in_(("scheduled", "sent", "opened")),
        )
        .values(state="expired")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount
