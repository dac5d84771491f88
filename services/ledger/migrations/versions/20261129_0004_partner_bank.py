"""Partner-bank auto-debit 银行代扣: collection accounts, batches of stable debit instructions, every
result the bank sent, reconciliation files, and the exceptions finance resolves.

Revision ID: ledger_0004
Revises: ledger_0003
Create Date: 2026-11-29 14:21:30.102508+00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'ledger_0004'
down_revision = 'ledger_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_account',
    sa.Column('bank_code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), server_default='CNY', nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('bank_code', name=op.f('pk_bank_account')),
    schema='ledger'
    )
    op.create_table('bank_exception',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('bank_code', sa.Text(), nullable=False),
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('instruction_id', sa.UUID(), nullable=True),
    sa.Column('result_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('in_suspense', sa.Boolean(), nullable=False),
    sa.Column('suspense_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='open', nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('resolution_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('resolved_by', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'resolved') = (resolved_at IS NOT NULL)", name=op.f('ck_bank_exception_resolved_has_a_time')),
    sa.CheckConstraint("kind IN ('unknown_instruction', 'amount_mismatch', 'conflicting_result', 'already_paid')", name=op.f('ck_bank_exception_kind')),
    sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f('ck_bank_exception_status')),
    sa.CheckConstraint('in_suspense = (suspense_entry_id IS NOT NULL)', name=op.f('ck_bank_exception_suspense_is_posted')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_exception')),
    schema='ledger'
    )
    op.create_index('ix_bank_exception_open', 'bank_exception', ['branch_id', 'id'], unique=False, schema='ledger', postgresql_where=sa.text("status = 'open'"))
    op.create_table('bank_result',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('bank_code', sa.Text(), nullable=False),
    sa.Column('instruction_id', sa.UUID(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('reason_code', sa.Text(), nullable=True),
    sa.Column('bank_reference', sa.Text(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('file_id', sa.BigInteger(), nullable=True),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('disposition', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('success', 'failure')", name=op.f('ck_bank_result_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_result')),
    schema='ledger'
    )
    op.create_index('ix_bank_result_instruction_id', 'bank_result', ['instruction_id'], unique=False, schema='ledger')
    op.create_table('reconciliation_file',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('bank_code', sa.Text(), nullable=False),
    sa.Column('file_date', sa.Date(), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_file')),
    sa.UniqueConstraint('bank_code', 'sha256', name=op.f('uq_reconciliation_file_bank_code_sha256')),
    schema='ledger'
    )
    op.create_table('debit_batch',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('bank_code', sa.Text(), nullable=False),
    sa.Column('due_through', sa.Date(), nullable=False),
    sa.Column('instructions', sa.Integer(), nullable=False),
    sa.Column('total', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='ready', nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('ready', 'acknowledged')", name=op.f('ck_debit_batch_status')),
    sa.ForeignKeyConstraint(['bank_code'], ['ledger.bank_account.bank_code'], name=op.f('fk_debit_batch_bank_code_bank_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debit_batch')),
    schema='ledger'
    )
    op.create_table('debit_instruction',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('bank_code', sa.Text(), nullable=False),
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('receivable_id', sa.BigInteger(), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('mandate_ref', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='pending', nullable=False),
    sa.Column('reason_code', sa.Text(), nullable=True),
    sa.Column('bank_reference', sa.Text(), nullable=True),
    sa.Column('result_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'exception')", name=op.f('ck_debit_instruction_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_debit_instruction_amount_positive')),
    sa.ForeignKeyConstraint(['batch_id'], ['ledger.debit_batch.id'], name=op.f('fk_debit_instruction_batch_id_debit_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debit_instruction')),
    schema='ledger'
    )
    op.create_index('ix_debit_instruction_batch_id', 'debit_instruction', ['batch_id'], unique=False, schema='ledger')
    op.create_index('uq_debit_instruction_pending_receivable', 'debit_instruction', ['receivable_id'], unique=True, schema='ledger', postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index('uq_debit_instruction_pending_receivable', table_name='debit_instruction', schema='ledger', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_debit_instruction_batch_id', table_name='debit_instruction', schema='ledger')
    op.drop_table('debit_instruction', schema='ledger')
    op.drop_table('debit_batch', schema='ledger')
    op.drop_table('reconciliation_file', schema='ledger')
    op.drop_index('ix_bank_result_instruction_id', table_name='bank_result', schema='ledger')
    op.drop_table('bank_result', schema='ledger')
    op.drop_index('ix_bank_exception_open', table_name='bank_exception', schema='ledger', postgresql_where=sa.text("status = 'open'"))
    op.drop_table('bank_exception', schema='ledger')
    op.drop_table('bank_account', schema='ledger')
