"""unit contact details shown to patients (issue 12)

How patients reach the unit, shown on the insight and thank-you pages: telephone, e-mail,
opening hours and address (all optional text).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = (
    ("contact_phone", 40),
    ("contact_email", 254),
    ("contact_hours", 200),
    ("contact_address", 300),
)


def upgrade() -> None:
    with op.batch_alter_table("unit") as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("unit") as batch:
        for name, _length in reversed(COLUMNS):
            batch.drop_column(name)
