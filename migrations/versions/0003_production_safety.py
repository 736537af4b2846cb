"""production safety: response revision, idempotency content hash, TOTP at rest and
replay step, account approval and forced password change, attempt times, outbox lease

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 07:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("response") as batch:
        batch.add_column(
            sa.Column("revision", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("page_submission") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("totp_secret_encrypted", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("pending_approval", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("approved_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("attempt_counter") as batch:
        batch.add_column(sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("lease_until")
    with op.batch_alter_table("attempt_counter") as batch:
        batch.drop_column("last_at")
    with op.batch_alter_table("user_account") as batch:
        for name in (
            "approved_at",
            "approved_by_id",
            "pending_approval",
            "created_by_id",
            "must_change_password",
            "totp_last_step",
            "totp_secret_encrypted",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("page_submission") as batch:
        batch.drop_column("content_hash")
    with op.batch_alter_table("response") as batch:
        batch.drop_column("revision")
