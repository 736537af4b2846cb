"""register setting: free-text answers in exports (issue 11)

Free-text answers (string/text items, the words of open-choice answers) are stored
encrypted and left out of every export unless the register's file says
``export: {free_text: true}``; this column keeps that setting (default off).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("register") as batch:
        batch.add_column(
            sa.Column("export_free_text", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("register") as batch:
        batch.drop_column("export_free_text")
