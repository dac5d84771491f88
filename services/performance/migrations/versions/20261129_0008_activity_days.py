"""Agents' days in numbers from activity's change feed (the activity counts of KPI).

Revision ID: performance_0008
Revises: performance_0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'performance_0008'
down_revision = 'performance_0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity_day',
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('counts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('agent_id', 'day', name=op.f('pk_activity_day')),
    schema='performance'
    )


def downgrade() -> None:
    op.drop_table('activity_day', schema='performance')
