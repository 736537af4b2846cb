"""score dashboard keys: each score carries its response's instrument and its invitation's
and enrolment's keys (enrolment, unit, protocol, time point, index year), so that the
dashboards count scores from the score table alone through two covering indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    ("enrolment_id", sa.Integer()),
    ("unit_id", sa.Integer()),
    ("protocol_id", sa.Integer()),
    ("time_point_id", sa.Integer()),
    ("instrument_id", sa.String(length=40)),
    ("index_year", sa.Integer()),
)
INDEXES = (
    (
        "ix_score_distribution",
        [
            "protocol_id",
            "time_point_id",
            "instrument_id",
            "scale",
            "value",
            "unit_id",
            "index_year",
            "id",
        ],
    ),
    (
        "ix_score_change",
        [
            "protocol_id",
            "instrument_id",
            "scale",
            "unit_id",
            "index_year",
            "enrolment_id",
            "time_point_id",
            "value",
        ],
    ),
)

# PostgreSQL: one join (UPDATE ... FROM)
BACKFILL_POSTGRESQL = """
UPDATE score SET
    enrolment_id = invitation.enrolment_id,
    unit_id = enrolment.unit_id,
    protocol_id = enrolment.protocol_id,
    time_point_id = invitation.time_point_id,
    instrument_id = response.instrument_id,
    index_year = CAST(EXTRACT(YEAR FROM enrolment.index_date) AS INTEGER)
FROM response
JOIN invitation ON invitation.id = response.invitation_id
JOIN enrolment ON enrolment.id = invitation.enrolment_id
WHERE response.id = score.response_id
"""

# SQLite (any version: no UPDATE ... FROM before 3.33): correlated subqueries; dates are
# ISO text there
BACKFILL_SQLITE = """
UPDATE score SET
enrolment_id = (
    SELECT invitation.enrolment_id FROM response
    JOIN invitation ON invitation.id = response.invitation_id
    JOIN enrolment ON enrolment.id = invitation.enrolment_id
    WHERE response.id = score.response_id
),
unit_id = (
    SELECT enrolment.unit_id FROM response
    JOIN invitation ON invitation.id = response.invitation_id
    JOIN enrolment ON enrolment.id = invitation.enrolment_id
    WHERE response.id = score.response_id
),
protocol_id = (
    SELECT enrolment.protocol_id FROM response
    JOIN invitation ON invitation.id = response.invitation_id
    JOIN enrolment ON enrolment.id = invitation.enrolment_id
    WHERE response.id = score.response_id
),
time_point_id = (
    SELECT invitation.time_point_id FROM response
    JOIN invitation ON invitation.id = response.invitation_id
    JOIN enrolment ON enrolment.id = invitation.enrolment_id
    WHERE response.id = score.response_id
),
instrument_id = (
    SELECT response.instrument_id FROM response
    JOIN invitation ON invitation.id = response.invitation_id
    JOIN enrolment ON enrolment.id = invitation.enrolment_id
    WHERE response.id = score.response_id
),
index_year = (
    SELECT CAST(substr(enrolment.index_date, 1, 4) AS INTEGER) FROM response
    JOIN invitation ON invitation.id = response.invitation_id
    JOIN enrolment ON enrolment.id = invitation.enrolment_id
    WHERE response.id = score.response_id
)
"""


def upgrade():
    with op.batch_alter_table("score") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(BACKFILL_SQLITE if sqlite else BACKFILL_POSTGRESQL)
    with op.batch_alter_table("score") as batch:
        for name, type_ in COLUMNS:
            batch.alter_column(name, existing_type=type_, nullable=False)
        # the dashboards no longer join score to response
        batch.drop_index("ix_score_dashboard")
        for name, columns in INDEXES:
            batch.create_index(name, columns)


def downgrade():
    with op.batch_alter_table("score") as batch:
        for name, _ in reversed(INDEXES):
            batch.drop_index(name)
        batch.create_index("ix_score_dashboard", ["response_id", "scale", "value"])
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
