"""Tell every gateway process when a user or a login session changes (NOTIFY gateway_principal).

Each gateway process keeps who an access token names in memory and drops a user's entries when
this arrives; triggers, not the code that writes, send it, so a change made by any path (the
admin API, a logout, a refresh-token theft, a statement typed by an operator) is announced. The
notification is delivered at commit, never for a transaction that rolled back.

Revision ID: gateway_0005
Revises: gateway_0004
Create Date: 2026-11-30
"""

from alembic import op

revision = "gateway_0005"
down_revision = "gateway_0004"
branch_labels = None
depends_on = None

SCHEMA = "gateway"
CHANNEL = "gateway_principal"


def upgrade() -> None:
    op.execute(f"""
        CREATE FUNCTION {SCHEMA}.announce_principal_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- The payload is the user's id: a user row carries it as id, a session row as user_id.
            IF TG_TABLE_NAME = 'user_account' THEN
                PERFORM pg_notify('{CHANNEL}', OLD.id::text);
            ELSE
                PERFORM pg_notify('{CHANNEL}', OLD.user_id::text);
            END IF;
            RETURN NULL;
        END $$
    """)
    for table in ("user_account", "auth_session"):
        op.execute(f"""
            CREATE TRIGGER announce_principal_change AFTER UPDATE OR DELETE ON {SCHEMA}.{table}
            FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.announce_principal_change()
        """)


def downgrade() -> None:
    for table in ("user_account", "auth_session"):
        op.execute(f"DROP TRIGGER announce_principal_change ON {SCHEMA}.{table}")
    op.execute(f"DROP FUNCTION {SCHEMA}.announce_principal_change()")
