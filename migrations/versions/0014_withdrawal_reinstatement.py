"""reinstatement after a withdrawal (follow-up of issue 15)

A register admin can undo a withdrawal (recorded for the wrong patient, or the patient
consents again). The withdrawal row is kept as history and gets ``reinstated_at`` and the
required ``reinstatement_reason``; only rows without ``reinstated_at`` exclude the patient.
One patient may therefore have several rows per register over time: the unique constraint
on (register, patient) becomes a partial unique index over the rows still in force.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ACTIVE = sa.text("reinstated_at IS NULL")
# SQLite keeps the 0007 constraint unnamed: batch mode names it by this convention
SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _unique_name() -> str:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("register_withdrawal"):
        if set(constraint["column_names"]) == {"register_id", "patient_id"}:
            return constraint["name"] or "uq_register_withdrawal_register_id"
    raise RuntimeError("register_withdrawal: the unique constraint of 0007 is missing")


def upgrade() -> None:
    name = _unique_name()
    with op.batch_alter_table("register_withdrawal", naming_convention=SQLITE_NAMES) as batch:
        batch.add_column(sa.Column("reinstated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reinstatement_reason", sa.String(500), nullable=True))
        batch.drop_constraint(name, type_="unique")
    op.create_index(
        "uq_register_withdrawal_in_force",
        "register_withdrawal",
        ["register_id", "patient_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_register_withdrawal_in_force", table_name="register_withdrawal")
    # the old schema knows only withdrawals in force: a reinstated row would exclude the
    # patient again, so it goes (its reinstatement stays in the audit log)
    op.execute("DELETE FROM register_withdrawal WHERE reinstated_at IS NOT NULL")
    with op.batch_alter_table("register_withdrawal") as batch:
        batch.drop_column("reinstatement_reason")
        batch.drop_column("reinstated_at")
        batch.create_unique_constraint(
            "register_withdrawal_register_id_patient_id_key", ["register_id", "patient_id"]
        )
