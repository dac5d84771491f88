"""Commission payables: what each settlement run owes each agent, posted once, then paid.

Revision ID: ledger_0003
Revises: ledger_0002
Create Date: 2026-11-29 14:01:42.485010+00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'ledger_0003'
down_revision = 'ledger_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commission_payable',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('settlement_run', sa.Text(), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Text(), server_default='posted', nullable=False),
    sa.Column('posted_by', sa.Text(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('paid_by', sa.Text(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payment_entry_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("(status = 'paid') = (payment_entry_id IS NOT NULL)", name=op.f('ck_commission_payable_paid_is_posted')),
    sa.CheckConstraint("period ~ '^[0-9]{4}-[0-9]{2}$'", name=op.f('ck_commission_payable_period_is_a_month')),
    sa.CheckConstraint("status IN ('posted', 'paid')", name=op.f('ck_commission_payable_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_commission_payable_amount_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_payable')),
    sa.UniqueConstraint('settlement_run', 'agent_id', name=op.f('uq_commission_payable_settlement_run_agent_id')),
    schema='ledger'
    )
    op.create_index('ix_commission_payable_agent_id', 'commission_payable', ['agent_id', 'id'], unique=False, schema='ledger')


def downgrade() -> None:
    op.drop_index('ix_commission_payable_agent_id', table_name='commission_payable', schema='ledger')
    op.drop_table('commission_payable', schema='ledger')
