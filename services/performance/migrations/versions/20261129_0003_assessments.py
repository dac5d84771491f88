"""KPI and assessments: self, supervisor, consolidation and feedback, with the rank change proposed to org.

Revision ID: performance_0003
Revises: performance_0002
Create Date: 2026-11-29 16:15:36.357470+00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'performance_0003'
down_revision = 'performance_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('rank_code', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='self_evaluation', nullable=False),
    sa.Column('self_scores', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('self_comment', sa.Text(), nullable=True),
    sa.Column('supervisor_scores', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('supervisor_comment', sa.Text(), nullable=True),
    sa.Column('supervisor_by', sa.Text(), nullable=True),
    sa.Column('weights', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('score', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('conditions', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('proposal', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('consolidated_by', sa.Text(), nullable=True),
    sa.Column('feedback', sa.Text(), nullable=True),
    sa.Column('feedback_by', sa.Text(), nullable=True),
    sa.Column('sent_to_org_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('monthly', 'annual', 'promotion', 'maintenance')", name=op.f('ck_assessment_kind_known')),
    sa.CheckConstraint("status IN ('self_evaluation', 'supervisor_evaluation', 'consolidated', 'feedback_done')", name=op.f('ck_assessment_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment')),
    schema='performance'
    )
    op.create_index('uq_assessment_agent_id', 'assessment', ['agent_id', 'kind', 'period'], unique=True, schema='performance')


def downgrade() -> None:
    op.drop_index('uq_assessment_agent_id', table_name='assessment', schema='performance')
    op.drop_table('assessment', schema='performance')
