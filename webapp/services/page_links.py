"""The question page's link lookup: one Core statement, small rows, no ORM objects.

The question page (GET and POST) is the hot path of the patient flow. It needs only the
invitation's state and dates, its time point's instruments and its drafts' answers,
progress and revision. :func:`resolve_page` reads them with one prebuilt ``SELECT``
(invitation ⨝ time point ⟕ response) into frozen rows (:class:`PageLink`,
:class:`DraftRow`) that carry the attribute names the response services read from an
:class:`~webapp.models.Invitation` (``id``, ``time_point.instruments``, ``responses``), so
the same services serve both. For a GET the lookup runs on its own connection in
autocommit mode: on PostgreSQL one round trip (no ``BEGIN`` and ``ROLLBACK``), and the
session is never opened unless the request writes. Whether the link may be used is
decided exactly as :func:`webapp.services.invitations.resolve` decides it.

Writes still go through the session: :func:`webapp.services.responses.save_page` merges
into a :class:`DraftRow` as read here and updates ``WHERE revision = <read> AND
completed_at IS NULL``, so reading outside its transaction loses nothing.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.engine import Engine

from webapp.crypto import token_hash
from webapp.extensions import db
from webapp.models import Invitation, Response, TimePoint, utcnow
from webapp.services.invitations import access_mode


@dataclass(frozen=True, slots=True)
class DraftRow:
    """A response as the question page reads it."""

    id: int
    instrument_id: str
    answers: dict[str, Any] | None
    current_page: int
    revision: int
    completed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TimePointRow:
    """The instruments of the invitation's time point, in protocol order."""

    instruments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PageLink:
    """An invitation as the question page reads it (attribute names as on the model)."""

    id: int
    state: str
    language: str | None
    time_point: TimePointRow
    responses: tuple[DraftRow, ...]


@dataclass(frozen=True, slots=True)
class PageAccess:
    """What a valid link gives on the question page: ``answer`` or ``insight``."""

    invitation: PageLink
    mode: str


@cache
def _by_token() -> Select[Any]:
    """Built once: the invitation with a token's hash, its instruments and its drafts."""
    i, t, r = Invitation.__table__.c, TimePoint.__table__.c, Response.__table__.c
    return (
        select(
            i.id,
            i.state,
            i.language,
            i.opens_at,
            i.expires_at,
            i.completed_at,
            i.innsyn_until,
            t.instruments,
            r.id.label("response_id"),
            r.instrument_id,
            r.answers,
            r.current_page,
            r.revision,
            r.completed_at.label("response_completed_at"),
        )
        .select_from(
            Invitation.__table__.join(TimePoint.__table__, t.id == i.time_point_id).outerjoin(
                Response.__table__, r.invitation_id == i.id
            )
        )
        .where(i.token_hash == bindparam("digest"))
    )


_AUTOCOMMIT: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _autocommit(engine: Engine) -> Engine:
    """``engine`` in autocommit mode (same pool): a lone read needs no transaction.

    SQLite as it is: pysqlite begins no transaction for a ``SELECT``, and SQLAlchemy sets
    SQLite's isolation level with a ``PRAGMA`` (one more statement per checkout).
    """
    found = _AUTOCOMMIT.get(engine)
    if found is None:
        if engine.dialect.name == "sqlite":
            found = engine
        else:
            found = engine.execution_options(isolation_level="AUTOCOMMIT")
        _AUTOCOMMIT[engine] = found
    return found


def resolve_page(
    token: str, now: dt.datetime | None = None, *, writing: bool = False
) -> PageAccess | None:
    """The invitation a token opens and for what, or None (unknown, expired, used, revoked).

    One indexed query: on an autocommit connection of its own for a read (a GET), in the
    session's transaction when the request goes on to write (``writing``: a POST saves
    on the same connection, without a second checkout).
    """
    params = {"digest": token_hash(token)}
    if writing:
        rows = db.session.connection().execute(_by_token(), params).all()
    else:
        with _autocommit(db.engine).connect() as connection:
            rows = connection.execute(_by_token(), params).all()
    if not rows:
        return None
    first = rows[0]
    mode = access_mode(
        first.state,
        first.opens_at,
        first.expires_at,
        first.completed_at,
        first.innsyn_until,
        now or utcnow(),
    )
    if mode is None:
        return None
    drafts = tuple(
        DraftRow(
            row.response_id,
            row.instrument_id,
            row.answers,
            row.current_page,
            row.revision,
            row.response_completed_at,
        )
        for row in rows
        if row.response_id is not None
    )
    link = PageLink(
        first.id, first.state, first.language, TimePointRow(tuple(first.instruments)), drafts
    )
    return PageAccess(link, mode)
