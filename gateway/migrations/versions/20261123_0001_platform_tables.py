"""Library tables of the gateway service: outbox, idempotency keys, consumed events, feed cursors.

Revision ID: gateway_0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

from svckit.migrations import create_platform_tables_v1

revision = "gateway_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables_v1(op.get_bind(), "gateway")


def downgrade() -> None:
    for table in ("feed_cursor", "consumed_event", "idempotency_key", "outbox_event"):
        op.drop_table(table, schema="gateway")
