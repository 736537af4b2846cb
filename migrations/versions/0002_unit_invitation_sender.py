"""unit.invitation_sender: the neutral name invitations are sent in

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("unit") as batch:
        batch.add_column(sa.Column("invitation_sender", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("unit") as batch:
        batch.drop_column("invitation_sender")
