"""Flask extensions, created here once and initialised in :func:`webapp.create_app`."""

from __future__ import annotations

import select
import sqlite3
from typing import Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

SQLITE_BUSY_TIMEOUT_MS = 15_000

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable migration names)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: write-ahead log (readers never wait for a writer, several gunicorn workers
    write one file), a busy timeout (a writer waits for the lock instead of failing) and
    ``synchronous = NORMAL``: in WAL mode a commit is then written to the log without an
    fsync, which happens at checkpoints instead. A crashed or killed application loses
    nothing it committed; only a power cut or OS crash can lose the last commits (the
    file stays consistent)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


@event.listens_for(Pool, "checkout")
def _replace_closed_connections(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A server database: a pooled connection the server has closed is replaced before use.

    A restarted PostgreSQL (or one whose sessions were terminated) closes its clients'
    sockets; an idle pooled connection then has that end of stream (and the server's
    goodbye) waiting to be read. Looking for it costs no round trip, unlike
    ``pool_pre_ping`` (a ``SELECT 1`` before every request). SQLAlchemy discards a
    connection refused here and takes a fresh one. A host that vanished without closing
    its sockets is not seen here (nor quickly by a ping): that request fails with the 503
    page, and SQLAlchemy then forgets every connection opened before the failure.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        return
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        raise DisconnectionError("connection closed")
    try:
        poller = select.poll()  # poll, not select: no limit on the descriptor number
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLHUP)
        readable = poller.poll(0)
    except (OSError, ValueError, AttributeError) as exc:
        raise DisconnectionError("connection unusable") from exc
    if readable:  # idle in the pool: nothing should be waiting but a closed stream
        raise DisconnectionError("server closed the connection")
