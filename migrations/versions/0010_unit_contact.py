"""unit contact details shown to patients (issue 12)

Placeholder revision, filled in by the work on that issue.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:10:00

"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
