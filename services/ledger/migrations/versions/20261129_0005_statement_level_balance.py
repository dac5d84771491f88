"""The balance rule checked once per statement instead of once per entry at commit.

The deferred per-entry trigger ran two queries for every entry when the transaction committed: about
80 µs an entry, 80 s for a million-line bank file. Now, at the end of every statement that writes
postings, one set-based query over the statement's new rows (a transition table) refuses:
- an entry whose new postings do not balance per currency;
- postings added to an entry that already had some (an entry is written whole, once);
and at the end of every statement that writes entries, an entry with fewer than two postings.
A posting's line number becomes an integer: a bank file's one entry per branch can have a million lines.

So an entry and its postings must be written by one statement (the journal's single INSERT … WITH
does exactly that); anything else is refused at once, not at commit.

Revision ID: ledger_0005
Revises: ledger_0004
Create Date: 2026-11-29
"""

from alembic import op

revision = "ledger_0005"
down_revision = "ledger_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE ledger.journal_posting ALTER COLUMN line_no TYPE integer")
    op.execute("DROP TRIGGER balanced ON ledger.journal_entry")
    op.execute("DROP FUNCTION ledger.check_entry_balanced()")
    op.execute("""
        CREATE FUNCTION ledger.check_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE bad record;
        BEGIN
          SELECT a.entry_id, a.currency, sum(a.amount) AS off INTO bad FROM added a
            GROUP BY a.branch_id, a.entry_id, a.currency HAVING sum(a.amount) <> 0 LIMIT 1;
          IF FOUND THEN
            RAISE EXCEPTION 'journal entry % does not balance (% off by %)', bad.entry_id, bad.currency, bad.off
              USING ERRCODE = 'check_violation';
          END IF;
          SELECT a.entry_id INTO bad
            FROM (SELECT branch_id, entry_id, count(*) AS lines FROM added GROUP BY branch_id, entry_id) a
            CROSS JOIN LATERAL (SELECT count(*) AS lines FROM ledger.journal_posting p
                                WHERE p.branch_id = a.branch_id AND p.entry_id = a.entry_id) t
            WHERE t.lines <> a.lines LIMIT 1;
          IF FOUND THEN
            RAISE EXCEPTION 'journal entry % does not balance (postings added after it was written)', bad.entry_id
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN NULL;
        END $$""")
    op.execute("""
        CREATE FUNCTION ledger.check_entries_complete() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE bad bigint;
        BEGIN
          SELECT e.id INTO bad FROM added e
            WHERE (SELECT count(*) FROM ledger.journal_posting p WHERE p.branch_id = e.branch_id
                   AND p.entry_id = e.id) < 2 LIMIT 1;
          IF FOUND THEN
            RAISE EXCEPTION 'journal entry % does not balance (fewer than two postings)', bad
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER balanced AFTER INSERT ON ledger.journal_posting REFERENCING NEW TABLE AS added"
               " FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_postings_balanced()")
    op.execute("CREATE TRIGGER complete AFTER INSERT ON ledger.journal_entry REFERENCING NEW TABLE AS added"
               " FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_entries_complete()")


def downgrade() -> None:
    op.execute("ALTER TABLE ledger.journal_posting ALTER COLUMN line_no TYPE smallint")
    op.execute("DROP TRIGGER complete ON ledger.journal_entry")
    op.execute("DROP TRIGGER balanced ON ledger.journal_posting")
    op.execute("DROP FUNCTION ledger.check_entries_complete()")
    op.execute("DROP FUNCTION ledger.check_postings_balanced()")
    op.execute("""
        CREATE FUNCTION ledger.check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE lines int; off text;
        BEGIN
          SELECT count(*) INTO lines FROM ledger.journal_posting
            WHERE branch_id = NEW.branch_id AND entry_id = NEW.id;
          SELECT string_agg(currency || ' ' || total, ', ') INTO off FROM (
            SELECT currency, sum(amount) AS total FROM ledger.journal_posting
            WHERE branch_id = NEW.branch_id AND entry_id = NEW.id GROUP BY currency HAVING sum(amount) <> 0) t;
          IF lines < 2 OR off IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % does not balance (% postings; off by %)', NEW.id, lines, off
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN NULL;
        END $$""")
    op.execute("CREATE CONSTRAINT TRIGGER balanced AFTER INSERT ON ledger.journal_entry"
               " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger.check_entry_balanced()")
