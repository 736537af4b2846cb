"""register operations (legal basis, consent, withdrawal, coverage, SMS phone numbers) — issue 15

Placeholder revision, filled in by the work on that issue.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:40:00

"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
