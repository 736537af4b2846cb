"""invitation rate keys: each invitation carries its enrolment's unit and index year, so
that the dashboards count due and closed invitations from the invitation table alone
through one covering index (and join only the completed responses to it)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = (
    ("unit_id", sa.Integer()),
    ("index_year", sa.Integer()),
)
INDEX = (
    "ix_invitation_rates",
    [
        "time_point_id",
        "unit_id",
        "index_year",
        "opens_at",
        "expires_at",
        "completed_at",
        "id",
    ],
)
OLD_INDEX = (
    "ix_invitation_dashboard",
    ["enrolment_id", "time_point_id", "opens_at", "expires_at", "completed_at"],
)

# PostgreSQL: one join (UPDATE ... FROM)
BACKFILL_POSTGRESQL = """
UPDATE invitation SET
    unit_id = enrolment.unit_id,
    index_year = CAST(EXTRACT(YEAR FROM enrolment.index_date) AS INTEGER)
FROM enrolment
WHERE enrolment.id = invitation.enrolment_id
"""

# SQLite (any version: no UPDATE ... FROM before 3.33): correlated subqueries; dates are
# ISO text there
BACKFILL_SQLITE = """
UPDATE invitation SET
unit_id = (
    SELECT enrolment.unit_id FROM enrolment WHERE enrolment.id = invitation.enrolment_id
),
index_year = (
    SELECT CAST(substr(enrolment.index_date, 1, 4) AS INTEGER) FROM enrolment
    WHERE enrolment.id = invitation.enrolment_id
)
"""


def upgrade():
    with op.batch_alter_table("invitation") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(BACKFILL_SQLITE if sqlite else BACKFILL_POSTGRESQL)
    with op.batch_alter_table("invitation") as batch:
        for name, type_ in COLUMNS:
            batch.alter_column(name, existing_type=type_, nullable=False)
        # the dashboards no longer join invitation to enrolment
        batch.drop_index(OLD_INDEX[0])
        batch.create_index(*INDEX)


def downgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.drop_index(INDEX[0])
        batch.create_index(*OLD_INDEX)
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
