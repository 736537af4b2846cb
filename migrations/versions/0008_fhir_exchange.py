"""FHIR exchange (API tokens, response import keys) — issue 11

- ``api_token``: bearer tokens of the /fhir API, one register and one scope each, only
  the SHA-256 of the token stored, revocable.
- ``response_import``: the import key of every QuestionnaireResponse imported into a
  register (file or API), unique per register, so a second import stores nothing twice.
- ``response.mode`` widened to 16 characters (``helsenorge``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id"], ["register.id"], name=op.f("fk_api_token_register_id_register")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token") as batch:
        batch.create_index(batch.f("ix_api_token_register_id"), ["register_id"], unique=False)
    op.create_table(
        "response_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("import_key", sa.String(length=128), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id"], ["register.id"], name=op.f("fk_response_import_register_id_register")
        ),
        sa.ForeignKeyConstraint(
            ["response_id"], ["response.id"], name=op.f("fk_response_import_response_id_response")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_import")),
        sa.UniqueConstraint(
            "register_id", "import_key", name=op.f("uq_response_import_register_id_import_key")
        ),
    )
    with op.batch_alter_table("response_import") as batch:
        batch.create_index(batch.f("ix_response_import_response_id"), ["response_id"], unique=False)
    with op.batch_alter_table("response") as batch:
        batch.alter_column(
            "mode",
            existing_type=sa.String(length=8),
            type_=sa.String(length=16),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("response") as batch:
        batch.alter_column(
            "mode",
            existing_type=sa.String(length=16),
            type_=sa.String(length=8),
            existing_nullable=False,
        )
    with op.batch_alter_table("response_import") as batch:
        batch.drop_index(batch.f("ix_response_import_response_id"))
    op.drop_table("response_import")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_index(batch.f("ix_api_token_register_id"))
    op.drop_table("api_token")
