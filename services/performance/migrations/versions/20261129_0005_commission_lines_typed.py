"""A commission line keeps its base in typed columns (product, policy year, premium, facts, rate); its
base and arithmetic are rendered when read. Every other line keeps them as written.

Revision ID: performance_0005
Revises: performance_0004
Create Date: 2026-11-29 16:28:05.241719+00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'performance_0005'
down_revision = 'performance_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('statement_line', sa.Column('product_code', sa.Text(), nullable=True), schema='performance')
    op.add_column('statement_line', sa.Column('policy_year', sa.Integer(), nullable=True), schema='performance')
    op.add_column('statement_line', sa.Column('premium', sa.Numeric(precision=20, scale=4), nullable=True), schema='performance')
    op.add_column('statement_line', sa.Column('facts', sa.Integer(), nullable=True), schema='performance')
    op.add_column('statement_line', sa.Column('rate', sa.Numeric(), nullable=True), schema='performance')
    op.alter_column('statement_line', 'base',
               existing_type=postgresql.JSONB(astext_type=sa.Text()),
               nullable=True,
               schema='performance')
    op.alter_column('statement_line', 'arithmetic',
               existing_type=sa.TEXT(),
               nullable=True,
               schema='performance')
    op.create_check_constraint(op.f('ck_statement_line_explained'), 'statement_line',
                               "base IS NOT NULL OR (kind = 'commission' AND premium IS NOT NULL)", schema='performance')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_statement_line_explained'), 'statement_line', type_='check', schema='performance')
    op.alter_column('statement_line', 'arithmetic',
               existing_type=sa.TEXT(),
               nullable=False,
               schema='performance')
    op.alter_column('statement_line', 'base',
               existing_type=postgresql.JSONB(astext_type=sa.Text()),
               nullable=False,
               schema='performance')
    op.drop_column('statement_line', 'rate', schema='performance')
    op.drop_column('statement_line', 'facts', schema='performance')
    op.drop_column('statement_line', 'premium', schema='performance')
    op.drop_column('statement_line', 'policy_year', schema='performance')
    op.drop_column('statement_line', 'product_code', schema='performance')
