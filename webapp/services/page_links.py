"""The question page's link lookup: one Core statement, small rows, no ORM objects.

The question page (GET and POST) is the hot path of the patient flow. It needs only the
invitation's state and dates, its time point's instruments and its drafts' answers,
progress and revision. :func:`resolve_page` reads them with one prebuilt ``SELECT``
(invitation ⨝ time point ⟕ response) into frozen rows (:class:`PageLink`,
:class:`DraftRow`) that carry the attribute names the response services read from an
:class:`~webapp.models.Invitation` (``id``, ``time_point.instruments``, ``responses``), so
the same services serve both. The lookup runs on a pooled connection of its own in
autocommit mode, for a GET and a POST: on PostgreSQL one round trip (no ``BEGIN`` and
``ROLLBACK``), and the session is never opened for it. Whether the link may be used is
decided exactly as :func:`webapp.services.invitations.resolve` decides it.

:func:`webapp.services.responses.save_page` merges into a :class:`DraftRow` as read here
and updates ``WHERE revision = <read> AND completed_at IS NULL`` (on PostgreSQL in one
statement with the key, :mod:`webapp.services.one_statement_save`), so reading outside
its transaction loses nothing.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import namedtuple
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

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


@dataclass(frozen=True, slots=True)
class _RawRead:
    """The lookup compiled once for one engine's dialect, with its columns' result
    processors (SQLAlchemy's own: SQLite's datetime strings, JSON, sealed answers)."""

    sql: str
    positional: tuple[str, ...] | None  # parameter order for a positional paramstyle
    processors: tuple[Any, ...]
    row: type


_RAW_READS: weakref.WeakKeyDictionary[Engine, _RawRead] = weakref.WeakKeyDictionary()


def _raw_read(engine: Engine) -> _RawRead:
    found = _RAW_READS.get(engine)
    if found is None:
        statement = _by_token()
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        columns = list(statement.selected_columns)
        processors = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        positional = tuple(compiled.positiontup) if compiled.positional else None  # type: ignore[arg-type]
        row = namedtuple("LinkRow", [column.key for column in columns])  # type: ignore[misc]  # noqa: PYI024
        found = _RawRead(str(compiled), positional, processors, row)
        _RAW_READS[engine] = found
    return found


def _read_outside_transaction(engine: Engine, params: dict[str, Any]) -> list[Any]:
    """The lookup on a pooled DBAPI connection in autocommit mode: one round trip, and
    none of SQLAlchemy's per-execution work (the statement is compiled once)."""
    read = _raw_read(engine)
    args: Any = (
        [params[name] for name in read.positional] if read.positional is not None else params
    )
    dialect = engine.dialect
    dbapi_error = dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()  # the pool's checkout events run as usual
    except dbapi_error as exc:  # as SQLAlchemy raises it: the views' 503 handler catches it
        raise DBAPIError.instance(read.sql, args, exc, dbapi_error) from exc
    try:
        driver = connection.driver_connection
        autocommit = getattr(driver, "autocommit", None)
        cursor = None
        try:
            if autocommit is False:  # psycopg: no BEGIN (and no ROLLBACK at return) for a read
                driver.autocommit = True
            cursor = connection.cursor()
            cursor.execute(read.sql, args)
            fetched = cursor.fetchall()
        except dbapi_error as exc:
            if dialect.is_disconnect(exc, driver, cursor):
                connection.invalidate(exc)  # a connection the server closed is not reused
            raise DBAPIError.instance(
                read.sql, args, exc, dbapi_error, connection_invalidated=not connection.is_valid
            ) from exc
        finally:
            if cursor is not None and connection.is_valid:
                cursor.close()
            if autocommit is False and connection.is_valid:
                driver.autocommit = False
    finally:
        connection.close()  # back to the pool (or discarded when invalidated)
    processors = read.processors
    return [
        read.row(*(p(v) if p is not None else v for p, v in zip(processors, raw, strict=True)))
        for raw in fetched
    ]


def resolve_page(token: str, now: dt.datetime | None = None) -> PageAccess | None:
    """The invitation a token opens and for what, or None (unknown, expired, used, revoked).

    One indexed query on a pooled connection in autocommit mode, for the question page's
    GET and POST alike (a save checks the revision it read, so reading outside its
    transaction loses nothing).
    """
    rows = _read_outside_transaction(db.engine, {"digest": token_hash(token)})
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
