"""Contests: a metric over months in an institution's subtree, prizes by place and by threshold.

Revision ID: performance_0006
Revises: performance_0005
Create Date: 2026-11-29 16:35:13.097253+00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'performance_0006'
down_revision = 'performance_0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contest',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('period_from', sa.Text(), nullable=False),
    sa.Column('period_to', sa.Text(), nullable=False),
    sa.Column('metric', sa.Text(), nullable=False),
    sa.Column('currency', sa.Text(), server_default='CNY', nullable=False),
    sa.Column('rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contest')),
    schema='performance'
    )


def downgrade() -> None:
    op.drop_table('contest', schema='performance')
