"""A settlement's results are never edited: statement lines refuse UPDATE and DELETE, and a payable's
amounts and balances refuse to change (only its posting status and the ledger's payable id may).

Revision ID: performance_0007
Revises: performance_0006
Create Date: 2026-11-29
"""

from alembic import op

revision = 'performance_0007'
down_revision = 'performance_0006'
branch_labels = None
depends_on = None


STATEMENTS = [
    """CREATE FUNCTION performance.statement_line_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'statement lines are never edited: a correction is a new run that supersedes'
        USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    """CREATE TRIGGER statement_line_immutable BEFORE UPDATE OR DELETE ON performance.statement_line
      FOR EACH STATEMENT EXECUTE FUNCTION performance.statement_line_immutable()""",
    """CREATE FUNCTION performance.run_payable_amounts_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (NEW.run_id, NEW.agent_id, NEW.branch_id, NEW.currency, NEW.gross, NEW.net, NEW.held, NEW.carried)
         IS DISTINCT FROM
         (OLD.run_id, OLD.agent_id, OLD.branch_id, OLD.currency, OLD.gross, OLD.net, OLD.held, OLD.carried)
      THEN
        RAISE EXCEPTION 'a payable''s amounts are never edited: a correction is a new run that supersedes'
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER run_payable_amounts_fixed BEFORE UPDATE ON performance.run_payable
      FOR EACH ROW EXECUTE FUNCTION performance.run_payable_amounts_fixed()""",
    """CREATE TRIGGER run_payable_not_deleted BEFORE DELETE ON performance.run_payable
      FOR EACH STATEMENT EXECUTE FUNCTION performance.statement_line_immutable()""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER run_payable_not_deleted ON performance.run_payable")
    op.execute("DROP TRIGGER run_payable_amounts_fixed ON performance.run_payable")
    op.execute("DROP FUNCTION performance.run_payable_amounts_fixed()")
    op.execute("DROP TRIGGER statement_line_immutable ON performance.statement_line")
    op.execute("DROP FUNCTION performance.statement_line_immutable()")
