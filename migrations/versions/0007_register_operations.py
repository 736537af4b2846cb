"""register operations (legal basis, consent, withdrawal, coverage, SMS phone numbers) — issue 15

A register declares its legal basis (consent or reservation); consents and withdrawals
are recorded per patient and register; coverage counts from the national patient
register are stored per unit and year. (The patient's phone number column exists since
0001: ``patient.phone_encrypted``.) report_notice: the monthly e-mail to unit leads that
a unit's report is ready, once per unit, lead and month.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("register") as batch:
        batch.add_column(
            sa.Column("legal_basis", sa.String(16), nullable=False, server_default="reservation")
        )
    op.create_table(
        "register_consent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("register_id", sa.Integer(), sa.ForeignKey("register.id"), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("information_version", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_register_consent_patient", "register_consent", ["patient_id", "register_id"]
    )
    op.create_table(
        "register_withdrawal",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("register_id", sa.Integer(), sa.ForeignKey("register.id"), nullable=False),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("register_id", "patient_id"),
    )
    op.create_index("ix_register_withdrawal_patient_id", "register_withdrawal", ["patient_id"])
    op.create_table(
        "coverage_count",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("register_id", sa.Integer(), sa.ForeignKey("register.id"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("treated", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("register_id", "unit_id", "year"),
    )
    op.create_table(
        "report_notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("unit_id", "user_id", "month"),
    )


def downgrade() -> None:
    op.drop_table("report_notice")
    op.drop_table("coverage_count")
    op.drop_index("ix_register_withdrawal_patient_id", table_name="register_withdrawal")
    op.drop_table("register_withdrawal")
    op.drop_index("ix_register_consent_patient", table_name="register_consent")
    op.drop_table("register_consent")
    with op.batch_alter_table("register") as batch:
        batch.drop_column("legal_basis")
