"""Targets decomposed to quarter, month, week and agent; recruits from org's feed.

Revision ID: performance_0004
Revises: performance_0003
Create Date: 2026-11-29 16:17:51.122663+00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'performance_0004'
down_revision = 'performance_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recruit',
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('supervisor_id', sa.BigInteger(), nullable=True),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('agent_id', name=op.f('pk_recruit')),
    schema='performance'
    )
    op.create_index('ix_recruit_team_id', 'recruit', ['team_id', 'joined_on'], unique=False, schema='performance')
    op.create_table('target',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('metric', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('currency', sa.Text(), server_default='CNY', nullable=False),
    sa.Column('month_weights', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("metric IN ('premium', 'recruits')", name=op.f('ck_target_metric_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target')),
    schema='performance'
    )
    op.create_index('uq_target_team_id', 'target', ['team_id', 'year', 'metric'], unique=True, schema='performance')
    op.create_table('target_share',
    sa.Column('target_id', sa.BigInteger(), nullable=False),
    sa.Column('level', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.CheckConstraint("level IN ('quarter', 'month', 'week', 'agent')", name=op.f('ck_target_share_level_known')),
    sa.PrimaryKeyConstraint('target_id', 'level', 'key', name=op.f('pk_target_share')),
    schema='performance'
    )


def downgrade() -> None:
    op.drop_table('target_share', schema='performance')
    op.drop_index('uq_target_team_id', table_name='target', schema='performance')
    op.drop_table('target', schema='performance')
    op.drop_index('ix_recruit_team_id', table_name='recruit', schema='performance')
    op.drop_table('recruit', schema='performance')
