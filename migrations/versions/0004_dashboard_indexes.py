"""dashboard indexes: covering indexes for the aggregate queries of the unit dashboard and
the register's quality indicators (enrolment -> invitation -> response -> score)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 08:00:00

"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_enrolment_dashboard", "enrolment", ["unit_id", "protocol_id", "index_date"]),
    (
        "ix_invitation_dashboard",
        "invitation",
        ["enrolment_id", "time_point_id", "opens_at", "expires_at", "completed_at"],
    ),
    ("ix_response_dashboard", "response", ["invitation_id", "status", "instrument_id"]),
    ("ix_score_dashboard", "score", ["response_id", "scale", "value"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
