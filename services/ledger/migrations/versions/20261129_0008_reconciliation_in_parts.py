"""A reconciliation file is applied in parts, each in its own transaction, so that a million-line
file uses every core of the database server instead of one.

A file's lines are split by instruction (every line about one instruction lands in the same part,
so each part judges its lines exactly as the whole file would); the whole file is checked before
any part is applied. A file is `applying` until every part has committed, then `applied` with the
sum of its parts' reports; a file interrupted in between is finished by sending it again (the parts
already applied are not applied twice).

Revision ID: ledger_0008
Revises: ledger_0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "ledger_0008"
down_revision = "ledger_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reconciliation_file", sa.Column("status", sa.Text(), server_default="applied", nullable=False),
                  schema="ledger")
    op.add_column("reconciliation_file", sa.Column("parts", sa.Integer(), server_default="1", nullable=False),
                  schema="ledger")
    op.create_check_constraint(op.f("ck_reconciliation_file_status"), "reconciliation_file", "status IN ('applying', 'applied')",
                               schema="ledger")
    op.create_check_constraint(op.f("ck_reconciliation_file_parts_positive"), "reconciliation_file", "parts > 0", schema="ledger")
    op.create_table(
        "reconciliation_file_part",
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["ledger.reconciliation_file.id"],
                                name=op.f("fk_reconciliation_file_part_file_id_reconciliation_file")),
        sa.PrimaryKeyConstraint("file_id", "part", name=op.f("pk_reconciliation_file_part")),
        schema="ledger",
    )


def downgrade() -> None:
    op.drop_table("reconciliation_file_part", schema="ledger")
    op.drop_constraint(op.f("ck_reconciliation_file_parts_positive"), "reconciliation_file", schema="ledger")
    op.drop_constraint(op.f("ck_reconciliation_file_status"), "reconciliation_file", schema="ledger")
    op.drop_column("reconciliation_file", "parts", schema="ledger")
    op.drop_column("reconciliation_file", "status", schema="ledger")
