"""indexed pseudonym lookup (follow-up of issue 11): ``register_pseudonym``

One row per (register, enrolled patient): the patient's export pseudonym in that register
and ``key_check``, a short fingerprint of the register's pseudonym key (a row written under
another ``OPENPROM_PSEUDONYM_KEY`` or register name is stale and gets rewritten). The FHIR
API finds ``subject:identifier=<pseudonym>`` through the index on (register, pseudonym)
instead of decrypting and hashing every patient. Rows are filled at enrolment and lazily
(``webapp.services.pseudonyms_index``); an empty table after this migration is filled on
the first search.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_pseudonym",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("key_check", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
            name=op.f("fk_register_pseudonym_register_id_register"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_register_pseudonym_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("register_id", "patient_id", name=op.f("pk_register_pseudonym")),
    )
    with op.batch_alter_table("register_pseudonym") as batch:
        batch.create_index("ix_register_pseudonym_lookup", ["register_id", "pseudonym"])


def downgrade() -> None:
    with op.batch_alter_table("register_pseudonym") as batch:
        batch.drop_index("ix_register_pseudonym_lookup")
    op.drop_table("register_pseudonym")
