"""Institutions a staff user works for: their data scope covers these and everything below.

Revision ID: gateway_0003
Revises: gateway_0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "gateway_0003"
down_revision = "gateway_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_account", sa.Column("institution_ids", postgresql.ARRAY(sa.BigInteger()),
                                            server_default=sa.text("'{}'::bigint[]"), nullable=False),
                  schema="gateway")


def downgrade() -> None:
    op.drop_column("user_account", "institution_ids", schema="gateway")
