"""The KPI sales part derived from facts and targets: each assessment keeps its sales evidence, the
part scores consolidation weighted and whether the sales score was derived or entered; a team target
may count new policies (the sales part's new-policy measure). Assessments consolidated before this
revision have none of these: their sales score was the supervisor's.

Revision ID: performance_0010
Revises: performance_0009
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'performance_0010'
down_revision = 'performance_0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('assessment', sa.Column('sales_evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
                  schema='performance')
    op.add_column('assessment', sa.Column('consolidated_scores', postgresql.JSONB(astext_type=sa.Text()),
                                          nullable=True), schema='performance')
    op.add_column('assessment', sa.Column('sales_source', sa.Text(), nullable=True), schema='performance')
    op.create_check_constraint(op.f('ck_assessment_sales_source_known'), 'assessment',
                               "sales_source IN ('derived', 'entered')", schema='performance')
    op.drop_constraint(op.f('ck_target_metric_known'), 'target', type_='check', schema='performance')
    op.create_check_constraint(op.f('ck_target_metric_known'), 'target',
                               "metric IN ('premium', 'recruits', 'new_policies')", schema='performance')


def downgrade() -> None:
    op.execute("DELETE FROM performance.target_share WHERE target_id IN"
               " (SELECT id FROM performance.target WHERE metric = 'new_policies')")
    op.execute("DELETE FROM performance.target WHERE metric = 'new_policies'")
    op.drop_constraint(op.f('ck_target_metric_known'), 'target', type_='check', schema='performance')
    op.create_check_constraint(op.f('ck_target_metric_known'), 'target', "metric IN ('premium', 'recruits')",
                               schema='performance')
    op.drop_constraint(op.f('ck_assessment_sales_source_known'), 'assessment', type_='check', schema='performance')
    op.drop_column('assessment', 'sales_source', schema='performance')
    op.drop_column('assessment', 'consolidated_scores', schema='performance')
    op.drop_column('assessment', 'sales_evidence', schema='performance')
