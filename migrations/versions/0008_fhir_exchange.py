"""FHIR exchange (API tokens, response import keys) — issue 11

Placeholder revision, filled in by the work on that issue.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:40:00

"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
