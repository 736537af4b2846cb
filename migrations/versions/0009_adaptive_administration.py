"""adaptive administration (item-bank steps) — issue 14

Placeholder revision, filled in by the work on that issue.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:40:00

"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
