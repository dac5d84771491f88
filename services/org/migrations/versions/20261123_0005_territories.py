"""Territories and channels of agents, effective-dated; a territory has one owner at a time.

Revision ID: org_0005
Revises: org_0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "org_0005"
down_revision = "org_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_territory",
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint("kind IN ('territory', 'channel')", name=op.f("ck_agent_territory_kind")),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_agent_territory_dates_in_order")),
        sa.ForeignKeyConstraint(["agent_id"], ["org.agent.id"], name=op.f("fk_agent_territory_agent_id_agent")),
        sa.PrimaryKeyConstraint("agent_id", "kind", "code", "valid_from", name=op.f("pk_agent_territory")),
        schema="org",
    )
    op.create_index("ix_agent_territory_code", "agent_territory", ["kind", "code"], unique=False, schema="org")
    op.create_index("uq_agent_territory_one_owner", "agent_territory", ["code"], unique=True, schema="org",
                    postgresql_where=sa.text("kind = 'territory' AND valid_to IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_agent_territory_one_owner", table_name="agent_territory", schema="org")
    op.drop_index("ix_agent_territory_code", table_name="agent_territory", schema="org")
    op.drop_table("agent_territory", schema="org")
