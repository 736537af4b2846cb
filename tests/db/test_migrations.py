"""The Alembic migrations build the schema on SQLite and PostgreSQL, match the models,
and downgrade to an empty database."""

from __future__ import annotations

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from webapp.extensions import db

EXPECTED_TABLES = {
    "register", "unit", "user_account", "role_assignment", "user_session", "attempt_counter",
    "patient", "protocol", "time_point", "enrolment", "invitation", "response",
    "page_submission", "score", "audit_event", "outbox_message",
}


def test_upgrade_creates_every_table_and_matches_models(database_url, app_factory):
    app = app_factory(database_url)
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        assert tables >= EXPECTED_TABLES
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_to_base_and_upgrade_again(database_url, app_factory):
    app = app_factory(database_url)
    with app.app_context():
        flask_migrate.downgrade(revision="base")
        left = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        flask_migrate.upgrade()
        assert set(sa.inspect(db.engine).get_table_names()) >= EXPECTED_TABLES


def test_healthz_reports_schema_on_each_database(database_url, app_factory):
    app = app_factory(database_url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "schema": "0014"}


SCORE_KEYS_BY_JOIN = """
SELECT score.id, invitation.enrolment_id, enrolment.unit_id, enrolment.protocol_id,
       invitation.time_point_id, response.instrument_id, enrolment.index_date
FROM score
JOIN response ON response.id = score.response_id
JOIN invitation ON invitation.id = response.invitation_id
JOIN enrolment ON enrolment.id = invitation.enrolment_id
ORDER BY score.id
"""


def test_0005_backfills_the_score_keys_of_existing_scores(database_url, app_factory):
    from webapp.services.demo import create_demo
    from webapp.services.integrity import verify_scores

    app = app_factory(database_url)
    with app.app_context():
        create_demo(patients=40)
        db.session.commit()
        db.session.remove()
        flask_migrate.downgrade(revision="0004")  # the columns go, the scores stay
        flask_migrate.upgrade()  # 0005 fills them from responses, invitations, enrolments
        with db.engine.connect() as conn:
            expected = [
                (*row[:6], row[6].year if hasattr(row[6], "year") else int(str(row[6])[:4]))
                for row in conn.execute(sa.text(SCORE_KEYS_BY_JOIN))
            ]
            stored = conn.execute(
                sa.text(
                    "SELECT id, enrolment_id, unit_id, protocol_id, time_point_id,"
                    " instrument_id, index_year FROM score ORDER BY id"
                )
            ).all()
        assert len(expected) > 100
        assert [tuple(r) for r in stored] == expected
        report = verify_scores()
        assert report.checked and report.mismatches == []


INVITATION_KEYS_BY_JOIN = """
SELECT invitation.id, enrolment.unit_id, enrolment.index_date
FROM invitation
JOIN enrolment ON enrolment.id = invitation.enrolment_id
ORDER BY invitation.id
"""


def test_0006_backfills_the_rate_keys_of_existing_invitations(database_url, app_factory):
    from webapp.services.demo import create_demo
    from webapp.services.integrity import verify_scores

    app = app_factory(database_url)
    with app.app_context():
        create_demo(patients=40)
        db.session.commit()
        db.session.remove()
        flask_migrate.downgrade(revision="0005")  # the columns go, the invitations stay
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("invitation")}
        assert not columns & {"unit_id", "index_year"}
        flask_migrate.upgrade()  # 0006 fills them from the enrolments
        with db.engine.connect() as conn:
            expected = [
                (row[0], row[1], row[2].year if hasattr(row[2], "year") else int(str(row[2])[:4]))
                for row in conn.execute(sa.text(INVITATION_KEYS_BY_JOIN))
            ]
            stored = conn.execute(
                sa.text("SELECT id, unit_id, index_year FROM invitation ORDER BY id")
            ).all()
        assert len(expected) > 100
        assert [tuple(r) for r in stored] == expected
        report = verify_scores()
        assert report.checked and report.mismatches == [] and report.invitations == []
