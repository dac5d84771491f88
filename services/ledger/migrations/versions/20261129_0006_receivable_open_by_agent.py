"""Open receivables by agent and currency, with everything the aging report sums: the report by agent
(or institution) reads this index alone, already in the order it groups by, instead of the table.

Revision ID: ledger_0006
Revises: ledger_0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = 'ledger_0006'
down_revision = 'ledger_0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_receivable_open_agent', 'receivable', ['agent_id', 'currency'], unique=False, schema='ledger',
                    postgresql_include=['institution_id', 'due_on', 'deadline_on', 'amount', 'received'],
                    postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index('ix_receivable_open_agent', table_name='receivable', schema='ledger',
                  postgresql_include=['institution_id', 'due_on', 'deadline_on', 'amount', 'received'],
                  postgresql_where=sa.text("status = 'open'"))
