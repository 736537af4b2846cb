"""adaptive administration (item-bank steps) — issue 14

- ``adaptive_step``: one row per step of an adaptive response (the item chosen for the
  open page; then the answer and the EAP theta and SE after it), unique per response and
  position, so a resumed page shows the same item and a double post stores one step.
- ``protocol.adaptive``: the protocol's ``adaptive:`` block (CAT settings), JSON.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adaptive_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("answer", sa.Integer(), nullable=True),
        sa.Column("theta", sa.Float(), nullable=True),
        sa.Column("se", sa.Float(), nullable=True),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"], ["response.id"], name=op.f("fk_adaptive_step_response_id_response")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adaptive_step")),
        sa.UniqueConstraint(
            "response_id", "position", name=op.f("uq_adaptive_step_response_id_position")
        ),
    )
    with op.batch_alter_table("protocol") as batch:
        batch.add_column(sa.Column("adaptive", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("protocol") as batch:
        batch.drop_column("adaptive")
    op.drop_table("adaptive_step")
