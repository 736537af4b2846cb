"""staff language stored per user (issue 12): the monthly report e-mail's language

``user_account.language`` holds the staff language (nb, nn, en) the user last chose on the
staff pages while signed in; NULL means not chosen (bokmål is used).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("language", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("language")
