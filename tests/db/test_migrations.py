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
    assert response.json == {"status": "ok", "database": "ok", "schema": "0004"}
