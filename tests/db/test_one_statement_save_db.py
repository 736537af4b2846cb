"""The page save in one PostgreSQL statement (``webapp.services.one_statement_save``).

Every outcome of a page POST on PostgreSQL: a save takes the one-statement path (the
transactional path is not entered), and a replay, a conflicting replay, a stale revision,
a submitted response and a key stored concurrently all fall back to the transactional path,
which tells them apart as before. The races of ``test_response_races_db.py`` run through
the same code on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

import instruments
from tests.conftest import _new_postgres_database
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Invitation, PageSubmission, Response
from webapp.services import one_statement_save, page_links, responses

KEY = "ab" * 16


@pytest.fixture
def pg_app(postgres_server, app_factory):  # type: ignore[no-untyped-def]
    return app_factory(_new_postgres_database(postgres_server), WTF_CSRF_ENABLED=False)


@pytest.fixture
def started(pg_app):  # type: ignore[no-untyped-def]
    enrolled = support.setup_world(pg_app)
    with pg_app.app_context():
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        responses.start(invitation, mode="self", relation=None, language="nb")
        db.session.commit()
    return enrolled


def _draft(app) -> tuple[dict[str, int], int, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.execute(
            sa.select(Response.answers, Response.current_page, Response.revision).where(
                Response.instrument_id == "eq5d5l"
            )
        ).one()
        db.session.rollback()
        return dict(row.answers or {}), row.current_page, row.revision


def _keys(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(PageSubmission))
        db.session.rollback()
        return count


def _post(app, token: str, answer: str, key: str = KEY):  # type: ignore[no-untyped-def]
    return app.test_client().post(f"/s/{token}/q/eq5d5l/0", data={"MO": answer, "idem": key})


def _transactional_calls(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    original = responses._insert_key

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(responses, "_insert_key", spy)
    return calls


def test_a_save_is_one_statement_and_stores_draft_and_key(pg_app, started, monkeypatch):  # type: ignore[no-untyped-def]
    calls = _transactional_calls(monkeypatch)
    with pg_app.app_context():
        assert one_statement_save.supported(db.engine)
    saved = _post(pg_app, started.token, "3")
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/q/eq5d5l/1")
    assert calls == []  # the transactional path was not needed
    assert _draft(pg_app) == ({"MO": 3}, 1, 1)
    assert _keys(pg_app) == 1
    with pg_app.app_context():
        stored = db.session.scalar(sa.select(PageSubmission.idempotency_key))
        db.session.rollback()
    assert stored.endswith(f":0:{KEY}")


def test_replays_conflicts_and_stale_revisions_fall_back_and_are_told_apart(
    pg_app, started, monkeypatch
):  # type: ignore[no-untyped-def]
    calls = _transactional_calls(monkeypatch)
    assert _post(pg_app, started.token, "3").status_code == 302
    # the same key and answers again (a double click): replayed, nothing changes
    again = _post(pg_app, started.token, "3")
    assert again.status_code == 302 and len(calls) == 1
    assert _draft(pg_app) == ({"MO": 3}, 1, 1) and _keys(pg_app) == 1
    # the same key with other answers: a conflict, shown again (409), nothing changes
    other = _post(pg_app, started.token, "4")
    assert other.status_code == 409 and len(calls) == 2
    assert _draft(pg_app) == ({"MO": 3}, 1, 1) and _keys(pg_app) == 1
    # a save that read an old revision (another tab saved in between): read again, merged
    with pg_app.app_context():
        access = page_links.resolve_page(started.token)
        draft = next(r for r in access.invitation.responses if r.instrument_id == "eq5d5l")
        db.session.execute(
            sa.update(Response)
            .where(Response.id == draft.id)
            .values(answers={"MO": 3, "SC": 2}, revision=Response.revision + 1)
        )
        db.session.commit()
        result = responses.save_page(
            draft,  # as read before the other save: revision 1
            instruments.load("eq5d5l"),
            0,
            {"MO": 5},
            idempotency_key=f"{draft.id}:0:{'cd' * 16}",
            language="nb",
        )
    assert result is responses.SaveResult.SAVED and len(calls) == 3
    assert _draft(pg_app) == ({"MO": 5, "SC": 2}, 1, 3)


def test_a_submitted_response_is_closed_and_a_concurrent_key_is_not_saved_twice(pg_app, started):  # type: ignore[no-untyped-def]
    instrument = instruments.load("eq5d5l")
    with pg_app.app_context():
        access = page_links.resolve_page(started.token)
        draft = next(r for r in access.invitation.responses if r.instrument_id == "eq5d5l")
        # the key stored by a request that got there first: the statement fails on the
        # unique key and saves nothing
        values = {
            "response_id": draft.id,
            "read_revision": draft.revision,
            "new_answers": {"MO": 2},
            "new_page": 1,
            "new_revision": draft.revision + 1,
            "new_language": "nb",
            "now": dt.datetime.now(dt.UTC),
            "idempotency_key": f"{draft.id}:0:{KEY}",
            "page": 0,
            "content_hash": "x",
        }
        assert one_statement_save.save(db.engine, values) is True
        values["read_revision"] += 1
        values["new_revision"] += 1
        assert one_statement_save.save(db.engine, values) is False  # key seen: not saved
        db.session.execute(
            sa.update(Response)
            .where(Response.id == draft.id)
            .values(completed_at=dt.datetime.now(dt.UTC))
        )
        db.session.commit()
        fresh = page_links.resolve_page(started.token)
        stale = next(r for r in fresh.invitation.responses if r.instrument_id == "eq5d5l")
        closed = responses.save_page(
            page_links.DraftRow(stale.id, "eq5d5l", stale.answers, 1, stale.revision, None),
            instrument,
            0,
            {"MO": 4},
            idempotency_key=f"{draft.id}:0:{'ef' * 16}",
            language="nb",
        )
    assert closed is responses.SaveResult.CLOSED
    assert _draft(pg_app) == ({"MO": 2}, 1, 1) and _keys(pg_app) == 1
