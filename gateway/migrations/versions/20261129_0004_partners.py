"""Partners (the bank) with their signing keys (secrets encrypted) and the nonces they used.

Revision ID: gateway_0004
Revises: gateway_0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "gateway_0004"
down_revision = "gateway_0003"
branch_labels = None
depends_on = None

SCHEMA = "gateway"


def upgrade() -> None:
    op.create_table(
        "partner",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partner"),
        sa.UniqueConstraint("code", name="uq_partner_code"),
        sa.CheckConstraint("code = lower(code)", name="ck_partner_code_lowercase"),
        sa.CheckConstraint("kind IN ('bank')", name="ck_partner_kind_known"),
        schema=SCHEMA,
    )
    op.create_table(
        "partner_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_partner_key"),
        sa.UniqueConstraint("key_id", name="uq_partner_key_key_id"),
        sa.ForeignKeyConstraint(["partner_id"], [f"{SCHEMA}.partner.id"], name="fk_partner_key_partner_id_partner",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], [f"{SCHEMA}.user_account.id"],
                                name="fk_partner_key_created_by_user_account", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["revoked_by"], [f"{SCHEMA}.user_account.id"],
                                name="fk_partner_key_revoked_by_user_account", ondelete="SET NULL"),
        schema=SCHEMA,
    )
    op.create_index("ix_partner_key_partner_id", "partner_key", ["partner_id"], schema=SCHEMA)
    op.create_table(
        "partner_nonce",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "nonce", name="pk_partner_nonce"),
        sa.ForeignKeyConstraint(["partner_id"], [f"{SCHEMA}.partner.id"], name="fk_partner_nonce_partner_id_partner",
                                ondelete="CASCADE"),
        schema=SCHEMA,
    )
    op.create_index("ix_partner_nonce_expires_at", "partner_nonce", ["expires_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("partner_nonce", schema=SCHEMA)
    op.drop_table("partner_key", schema=SCHEMA)
    op.drop_table("partner", schema=SCHEMA)
