"""Atomic attempt counters (one ``attempt_counter`` row per key and window).

Shared by the staff sign-in throttle (:mod:`webapp.services.auth`) and the invitation
guessing guard (:mod:`webapp.services.invitations`). Each call is a single statement
(``UPDATE ... SET count = count + 1 ... RETURNING`` or ``INSERT ... ON CONFLICT DO
NOTHING``), so parallel requests on several workers and hosts never lose a count. The
caller commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from webapp.extensions import db
from webapp.models import AttemptCounter


def insert_first(key: str, start: dt.datetime, now: dt.datetime) -> int | None:
    """Insert the window's row with count 1; None when a parallel request inserted it."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(AttemptCounter)
        .values(key=key, window_start=start, count=1, last_at=now)
        .on_conflict_do_nothing(index_elements=["key", "window_start"])
        .returning(AttemptCounter.count)
    )
    return db.session.execute(stmt).scalar_one_or_none()


def increment(key: str, start: dt.datetime, now: dt.datetime) -> int:
    """Add one attempt for ``key`` in the window starting at ``start``; the new count."""
    bump = (
        update(AttemptCounter)
        .where(AttemptCounter.key == key, AttemptCounter.window_start == start)
        .values(count=AttemptCounter.count + 1, last_at=now)
        .returning(AttemptCounter.count)
        .execution_options(synchronize_session=False)
    )
    new = db.session.execute(bump).scalar_one_or_none()
    if new is None:
        new = insert_first(key, start, now)
    if new is None:  # inserted by a parallel request in the meantime
        new = db.session.execute(bump).scalar_one()
    return int(new)
