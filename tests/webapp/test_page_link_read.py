"""The question page GET reads its link on a raw pooled connection (``page_links``).

Checked on SQLite and PostgreSQL: the rows equal what the same statement gives through
SQLAlchemy in the session (the POST path), dates and sealed answers included; a
database error is raised as SQLAlchemy raises it, so the patient gets the calm 503; on
PostgreSQL the read runs outside a transaction and a connection the server closed is
replaced at checkout, not reused.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from tests.webapp import patient_support as support
from webapp.crypto import token_hash
from webapp.extensions import db
from webapp.models import Invitation, Response
from webapp.services import page_links, responses


def _started(app) -> support.Enrolled:  # type: ignore[no-untyped-def]
    enrolled = support.setup_world(app)
    with app.app_context():
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        responses.start(invitation, mode="self", relation=None, language="nn")
        draft = db.session.query(Response).filter_by(instrument_id="eq5d5l").one()
        draft.answers = {"MO": 2, "SC": 1, "VAS": 64}
        draft.current_page = 3
        db.session.commit()
    return enrolled


def test_raw_read_gives_the_rows_sqlalchemy_gives(database_url, app_factory):  # type: ignore[no-untyped-def]
    app = app_factory(database_url, WTF_CSRF_ENABLED=False)
    enrolled = _started(app)
    with app.app_context():
        params = {"digest": token_hash(enrolled.token)}
        through_session = db.session.connection().execute(page_links._by_token(), params).all()
        raw = page_links._read_outside_transaction(db.engine, params)
        db.session.rollback()
        assert len(raw) == len(through_session) == 2  # EQ-5D-5L and ODI drafts
        for mine, theirs in zip(
            sorted(raw, key=lambda r: r.response_id),
            sorted(through_session, key=lambda r: r.response_id),
            strict=True,
        ):
            assert tuple(mine) == tuple(theirs)
            assert mine._fields == tuple(theirs._fields)
        eq5d = next(r for r in raw if r.instrument_id == "eq5d5l")
        assert eq5d.answers == {"MO": 2, "SC": 1, "VAS": 64}
        assert isinstance(eq5d.expires_at, dt.datetime)  # parsed, not SQLite's text
        read = page_links.resolve_page(enrolled.token)
        assert read is not None and read.mode == "answer"
        assert read.invitation.id == through_session[0].id
        assert {
            (d.id, d.instrument_id, tuple(sorted(d.answers.items())), d.current_page, d.revision)
            for d in read.invitation.responses
        } == {
            (
                r.response_id,
                r.instrument_id,
                tuple(sorted(r.answers.items())),
                r.current_page,
                r.revision,
            )
            for r in through_session
        }
        assert page_links.resolve_page("x" * 43) is None


def test_a_database_error_in_the_raw_read_is_the_calm_503(app, monkeypatch):  # type: ignore[no-untyped-def]
    enrolled = _started(app)
    client = app.test_client()
    url = f"/s/{enrolled.token}/q/eq5d5l/0"
    assert client.get(url).status_code == 200
    with app.app_context():
        broken = page_links._raw_read(db.engine)
    monkeypatch.setattr(
        page_links,
        "_raw_read",
        lambda _engine: page_links._RawRead(
            "SELECT * FROM no_such_table", broken.positional, broken.processors, broken.row
        ),
    )
    with app.app_context(), pytest.raises(OperationalError):
        page_links._read_outside_transaction(db.engine, {"digest": "x"})
    page = client.get(url)
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "Denne siden ble ikke lagret" in page.text  # the invitation language, bokmål
    monkeypatch.undo()
    again = client.get(url)
    assert again.status_code == 200
    assert 'name="MO" value="2" checked' in again.text


def test_on_postgresql_the_read_is_outside_a_transaction_and_survives_killed_backends(
    postgres_server, app_factory
):  # type: ignore[no-untyped-def]
    from tests.conftest import _new_postgres_database

    url = _new_postgres_database(postgres_server)
    app = app_factory(url, WTF_CSRF_ENABLED=False)
    enrolled = _started(app)
    client = app.test_client()
    page_url = f"/s/{enrolled.token}/q/eq5d5l/0"
    assert client.get(page_url).status_code == 200
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            driver = connection.driver_connection
            assert driver.autocommit is False  # the read put autocommit back
            assert driver.info.transaction_status == 0  # IDLE: no transaction left open
        finally:
            connection.close()
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as other:
            killed = other.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
            for _ in range(100):  # the server ends them asynchronously: wait until gone
                left = other.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar()
                if left == 0:
                    break
                time.sleep(0.05)
        admin.dispose()
        assert killed >= 1
    for _ in range(3):  # each pooled connection the server closed is replaced, never an error
        page = client.get(page_url)
        assert page.status_code == 200, page.status_code
        assert 'name="MO" value="2" checked' in page.text
