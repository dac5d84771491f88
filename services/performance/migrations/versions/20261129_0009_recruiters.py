"""Recruits keep the recruiter and nurturer org announced on joining (the recruiting bonus 增员奖).
Joiners applied before this revision have none: org's feed did not carry them then.

Revision ID: performance_0009
Revises: performance_0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'performance_0009'
down_revision = 'performance_0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('recruit', sa.Column('recruiter_id', sa.BigInteger(), nullable=True), schema='performance')
    op.add_column('recruit', sa.Column('nurturer_id', sa.BigInteger(), nullable=True), schema='performance')
    op.create_index('ix_recruit_joined_on', 'recruit', ['joined_on'], unique=False, schema='performance')


def downgrade() -> None:
    op.drop_index('ix_recruit_joined_on', table_name='recruit', schema='performance')
    op.drop_column('recruit', 'nurturer_id', schema='performance')
    op.drop_column('recruit', 'recruiter_id', schema='performance')
