"""The money record: chart of accounts, append-only balanced journal, guarded balances, rules as
effective-dated data, the working-day calendar, customers, policies, receivables, receipts, and the
replica of the organisation used for data scope.

Seeds: the chart of accounts; DOMAIN.md's default rules (collection within 5 working days for
individuals and 20 for organisations, aging buckets, clawback window); and the mainland-China
holiday schedule for every year the pinned `chinese_calendar` package knows completely.

Revision ID: ledger_0002
Revises: ledger_0001
Create Date: 2026-11-29
"""

import json
from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'ledger_0002'
down_revision = 'ledger_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('gl_code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('name_zh', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('guarded', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('guard_by', sa.Text(), nullable=True),
    sa.CheckConstraint("guard_by IN ('branch', 'agent', 'customer', 'policy')", name=op.f('ck_account_guard_by')),
    sa.CheckConstraint("kind IN ('asset', 'liability', 'equity', 'income', 'expense')", name=op.f('ck_account_kind')),
    sa.CheckConstraint('guarded = (guard_by IS NOT NULL)', name=op.f('ck_account_guard_has_a_subledger')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_account')),
    sa.UniqueConstraint('gl_code', name=op.f('uq_account_gl_code')),
    schema='ledger'
    )
    op.create_table('calendar_year',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('loaded_by', sa.Text(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_year')),
    schema='ledger'
    )
    op.create_table('customer',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('external_ref', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('individual', 'organisation')", name=op.f('ck_customer_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
    sa.UniqueConstraint('kind', 'external_ref', name=op.f('uq_customer_kind_external_ref')),
    schema='ledger'
    )
    op.create_table('journal_entry',
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('reverses_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('request_id', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('branch_id', 'id', name=op.f('pk_journal_entry')),
    schema='ledger'
    )
    op.create_index('ix_journal_entry_id', 'journal_entry', ['id'], unique=False, schema='ledger')
    op.create_index('ix_journal_entry_posted_at', 'journal_entry', ['posted_at'], unique=False, schema='ledger')
    op.create_index('uq_journal_entry_reverses_id', 'journal_entry', ['branch_id', 'reverses_id'], unique=True, schema='ledger', postgresql_where=sa.text('reverses_id IS NOT NULL'))
    op.create_index('uq_journal_entry_source', 'journal_entry', ['branch_id', 'source'], unique=True, schema='ledger', postgresql_where=sa.text('source IS NOT NULL'))
    op.create_table('org_agent',
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.Text(), nullable=True),
    sa.Column('path', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.Column('rank_code', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('agent_id', name=op.f('pk_org_agent')),
    schema='ledger'
    )
    op.create_index('ix_org_agent_path', 'org_agent', ['path'], unique=False, schema='ledger', postgresql_using='gin')
    op.create_index('ix_org_agent_user_id', 'org_agent', ['user_id'], unique=False, schema='ledger')
    op.create_table('org_institution',
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('path', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('institution_id', name=op.f('pk_org_institution')),
    schema='ledger'
    )
    op.create_index('ix_org_institution_path', 'org_institution', ['path'], unique=False, schema='ledger', postgresql_using='gin')
    op.create_table('org_refresh_due',
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('agent_id', 'due_on', name=op.f('pk_org_refresh_due')),
    schema='ledger'
    )
    op.create_table('receipt',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('receivable_id', sa.BigInteger(), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('status', sa.Text(), server_default='recorded', nullable=False),
    sa.Column('decided_by', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('entry_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("(status = 'confirmed') = (entry_id IS NOT NULL)", name=op.f('ck_receipt_confirmed_is_posted')),
    sa.CheckConstraint("(status = 'recorded') = (decided_at IS NULL)", name=op.f('ck_receipt_decision_has_a_time')),
    sa.CheckConstraint("method IN ('cash', 'transfer', 'pos', 'cheque')", name=op.f('ck_receipt_method')),
    sa.CheckConstraint("status IN ('recorded', 'confirmed', 'rejected')", name=op.f('ck_receipt_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_receipt_amount_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt')),
    schema='ledger'
    )
    op.create_index('ix_receipt_agent_id', 'receipt', ['agent_id', 'id'], unique=False, schema='ledger')
    op.create_index('ix_receipt_pending', 'receipt', ['branch_id', 'id'], unique=False, schema='ledger', postgresql_where=sa.text("status = 'recorded'"))
    op.create_table('receivable',
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('installment_no', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('policyholder_kind', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('deadline_on', sa.Date(), nullable=False),
    sa.Column('deadline_provisional', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('received', sa.Numeric(precision=20, scale=4), server_default='0', nullable=False),
    sa.Column('status', sa.Text(), server_default='open', nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'open') = (settled_at IS NULL)", name=op.f('ck_receivable_settled_has_a_time')),
    sa.CheckConstraint("policyholder_kind IN ('individual', 'organisation')", name=op.f('ck_receivable_policyholder_kind')),
    sa.CheckConstraint("status IN ('open', 'settled', 'written_off')", name=op.f('ck_receivable_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_receivable_amount_positive')),
    sa.CheckConstraint('received >= 0 AND received <= amount', name=op.f('ck_receivable_received_within_amount')),
    sa.PrimaryKeyConstraint('branch_id', 'id', name=op.f('pk_receivable')),
    sa.UniqueConstraint('branch_id', 'policy_id', 'installment_no', name=op.f('uq_receivable_branch_id_policy_id_installment_no')),
    schema='ledger'
    )
    op.create_index('ix_receivable_agent', 'receivable', ['agent_id', 'due_on'], unique=False, schema='ledger')
    op.create_index('ix_receivable_id', 'receivable', ['id'], unique=False, schema='ledger')
    op.create_index('ix_receivable_open_deadline', 'receivable', ['deadline_on'], unique=False, schema='ledger', postgresql_where=sa.text("status = 'open'"), postgresql_include=['agent_id', 'institution_id', 'amount', 'received', 'currency'])
    op.create_index('ix_receivable_provisional', 'receivable', ['deadline_on'], unique=False, schema='ledger', postgresql_where=sa.text('deadline_provisional'))
    op.create_table('rule_version',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('value', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_rule_version_dates_in_order')),
    sa.PrimaryKeyConstraint('name', 'valid_from', name=op.f('pk_rule_version')),
    schema='ledger'
    )
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('holiday', 'makeup_workday')", name=op.f('ck_calendar_day_kind')),
    sa.CheckConstraint('extract(year FROM day) = year', name=op.f('ck_calendar_day_day_in_year')),
    sa.ForeignKeyConstraint(['year'], ['ledger.calendar_year.year'], name=op.f('fk_calendar_day_year_calendar_year'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_day')),
    schema='ledger'
    )
    op.create_table('guarded_balance',
    sa.Column('account', sa.Text(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('subledger_id', sa.BigInteger(), nullable=False),
    sa.Column('balance', sa.Numeric(precision=20, scale=4), server_default='0', nullable=False),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_guarded_balance_not_overdrawn')),
    sa.ForeignKeyConstraint(['account'], ['ledger.account.code'], name=op.f('fk_guarded_balance_account_account')),
    sa.PrimaryKeyConstraint('account', 'currency', 'subledger_id', name=op.f('pk_guarded_balance')),
    schema='ledger'
    )
    op.create_table('journal_posting',
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.SmallInteger(), nullable=False),
    sa.Column('account', sa.Text(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=True),
    sa.Column('policy_id', sa.BigInteger(), nullable=True),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('receivable_id', sa.BigInteger(), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_journal_posting_amount_not_zero')),
    sa.ForeignKeyConstraint(['account'], ['ledger.account.code'], name=op.f('fk_journal_posting_account_account')),
    sa.ForeignKeyConstraint(['branch_id', 'entry_id'], ['ledger.journal_entry.branch_id', 'ledger.journal_entry.id'], name='fk_journal_posting_entry'),
    sa.PrimaryKeyConstraint('branch_id', 'entry_id', 'line_no', name=op.f('pk_journal_posting')),
    schema='ledger'
    )
    op.create_index('ix_journal_posting_account', 'journal_posting', ['account', 'currency', 'posted_at'], unique=False, schema='ledger', postgresql_include=['amount'])
    op.create_index('ix_journal_posting_agent', 'journal_posting', ['agent_id', 'account', 'posted_at'], unique=False, schema='ledger', postgresql_include=['amount'], postgresql_where=sa.text('agent_id IS NOT NULL'))
    op.create_index('ix_journal_posting_customer', 'journal_posting', ['customer_id', 'account', 'posted_at'], unique=False, schema='ledger', postgresql_include=['amount'], postgresql_where=sa.text('customer_id IS NOT NULL'))
    op.create_index('ix_journal_posting_receivable', 'journal_posting', ['receivable_id', 'posted_at'], unique=False, schema='ledger', postgresql_include=['amount'], postgresql_where=sa.text('receivable_id IS NOT NULL'))
    op.create_index('ix_journal_posting_policy', 'journal_posting', ['policy_id', 'account', 'posted_at'], unique=False, schema='ledger', postgresql_include=['amount'], postgresql_where=sa.text('policy_id IS NOT NULL'))
    op.create_table('policy',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('policy_no', sa.Text(), nullable=False),
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('product_code', sa.Text(), nullable=False),
    sa.Column('insurer', sa.Text(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('premium', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('frequency', sa.Text(), nullable=False),
    sa.Column('payment_mode', sa.Text(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Text(), server_default='in_force', nullable=False),
    sa.Column('status_on', sa.Date(), nullable=False),
    sa.Column('mandate_ref', sa.Text(), nullable=True),
    sa.Column('installments_due', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("frequency IN ('single', 'annual', 'semiannual', 'quarterly', 'monthly')", name=op.f('ck_policy_frequency')),
    sa.CheckConstraint("payment_mode IN ('cash', 'transfer', 'bank_debit', 'pos')", name=op.f('ck_policy_payment_mode')),
    sa.CheckConstraint("status IN ('in_force', 'lapsed', 'surrendered', 'cancelled')", name=op.f('ck_policy_status')),
    sa.CheckConstraint('premium > 0', name=op.f('ck_policy_premium_positive')),
    sa.ForeignKeyConstraint(['customer_id'], ['ledger.customer.id'], name=op.f('fk_policy_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy')),
    sa.UniqueConstraint('policy_no', name=op.f('uq_policy_policy_no')),
    schema='ledger'
    )
    op.create_index('ix_policy_agent_id', 'policy', ['agent_id'], unique=False, schema='ledger')
    op.create_index('ix_policy_customer_id', 'policy', ['customer_id'], unique=False, schema='ledger')
    op.create_table('policy_event',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('issued', 'renewed', 'lapsed', 'surrendered', 'cancelled', 'agent_reassigned')", name=op.f('ck_policy_event_kind')),
    sa.ForeignKeyConstraint(['policy_id'], ['ledger.policy.id'], name=op.f('fk_policy_event_policy_id_policy')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_event')),
    schema='ledger'
    )
    op.create_index('ix_policy_event_policy_id', 'policy_event', ['policy_id', 'id'], unique=False, schema='ledger')
    _journal_guards()
    _seed_accounts()
    _seed_rules()
    _seed_calendar()


def _journal_guards() -> None:
    # Append-only: no statement may change or remove what was posted (corrections are reversals).
    op.execute("""
        CREATE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'journal rows are immutable; post a reversing entry instead'
            USING ERRCODE = 'restrict_violation';
        END $$""")
    for table in ("journal_entry", "journal_posting"):
        op.execute(f"CREATE TRIGGER immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.{table}"
                   " FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()")
    # Balanced at commit, whatever wrote it: two postings at least, debits = credits per currency.
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


ACCOUNTS = [
    # code, GL code (保险公司会计科目), name, name_zh, kind, guarded by
    ("cash", "1001", "Cash on hand", "库存现金", "asset", None),
    ("bank", "1002", "Bank deposits", "银行存款", "asset", None),
    ("premium_receivable", "1122", "Premium receivable", "应收保费", "asset", None),
    ("clawback_receivable", "1221", "Commission clawback receivable", "其他应收款-佣金追回", "asset", None),
    ("commission_payable", "2202", "Commission payable", "应付手续费及佣金", "liability", "agent"),
    ("premium_in_advance", "2203", "Premium received in advance", "预收保费", "liability", "customer"),
    ("suspense", "2241", "Suspense: money not yet matched", "其他应付款-待查款项", "liability", "branch"),
    ("premium_income", "6031", "Premium income", "保费收入", "income", None),
    ("commission_expense", "6421", "Commission expense", "手续费及佣金支出", "expense", None),
]


def _seed_accounts() -> None:
    table = sa.table("account", sa.column("code"), sa.column("gl_code"), sa.column("name"), sa.column("name_zh"),
                     sa.column("kind"), sa.column("guarded"), sa.column("guard_by"), schema="ledger")
    op.bulk_insert(table, [{"code": c, "gl_code": g, "name": n, "name_zh": z, "kind": k, "guarded": by is not None,
                            "guard_by": by} for c, g, n, z, k, by in ACCOUNTS])


def _seed_rules() -> None:
    table = sa.table("rule_version", sa.column("name"), sa.column("valid_from"), sa.column("value", postgresql.JSONB),
                     sa.column("recorded_by"), schema="ledger")
    since = date(2004, 1, 1)
    op.bulk_insert(table, [
        {"name": "collection_deadlines", "valid_from": since, "recorded_by": "seed 000 第十四条",
         "value": json.loads('{"individual": 5, "organisation": 20}')},
        {"name": "aging_buckets", "valid_from": since, "recorded_by": "default",
         "value": json.loads('{"bounds": [30, 60, 90, 180]}')},
        {"name": "clawback", "valid_from": since, "recorded_by": "default",
         "value": json.loads('{"window_months": 12, "share": "1"}')},
    ])


def _seed_calendar() -> None:
    """Every year chinese_calendar knows to its end (it ships each year's schedule once announced)."""
    import chinese_calendar

    known = {d.year for d in chinese_calendar.holidays} & {d.year for d in chinese_calendar.workdays}
    complete = sorted(y for y in known if any(d.year == y and d.month >= 10 for d in chinese_calendar.holidays))
    years = sa.table("calendar_year", sa.column("year"), sa.column("source"), sa.column("loaded_by"),
                     schema="ledger")
    days = sa.table("calendar_day", sa.column("day"), sa.column("year"), sa.column("kind"), sa.column("name"),
                    schema="ledger")
    source = f"chinese_calendar {getattr(chinese_calendar, '__version__', '1.11.0')}"
    op.bulk_insert(years, [{"year": y, "source": source, "loaded_by": "migration"} for y in complete])
    rows = [{"day": d, "year": d.year, "kind": "holiday", "name": str(name)}
            for d, name in chinese_calendar.holidays.items() if d.year in complete]
    rows += [{"day": d, "year": d.year, "kind": "makeup_workday", "name": str(name)}
             for d, name in chinese_calendar.workdays.items() if d.year in complete]
    op.bulk_insert(days, rows)


def downgrade() -> None:
    op.drop_index('ix_policy_event_policy_id', table_name='policy_event', schema='ledger')
    op.drop_table('policy_event', schema='ledger')
    op.drop_index('ix_policy_customer_id', table_name='policy', schema='ledger')
    op.drop_index('ix_policy_agent_id', table_name='policy', schema='ledger')
    op.drop_table('policy', schema='ledger')
    op.drop_index('ix_journal_posting_policy', table_name='journal_posting', schema='ledger', postgresql_include=['amount'], postgresql_where=sa.text('policy_id IS NOT NULL'))
    op.drop_index('ix_journal_posting_customer', table_name='journal_posting', schema='ledger', postgresql_include=['amount'], postgresql_where=sa.text('customer_id IS NOT NULL'))
    op.drop_index('ix_journal_posting_agent', table_name='journal_posting', schema='ledger', postgresql_include=['amount'], postgresql_where=sa.text('agent_id IS NOT NULL'))
    op.drop_index('ix_journal_posting_account', table_name='journal_posting', schema='ledger', postgresql_include=['amount'])
    op.drop_table('journal_posting', schema='ledger')
    op.drop_table('guarded_balance', schema='ledger')
    op.drop_table('calendar_day', schema='ledger')
    op.drop_table('rule_version', schema='ledger')
    op.drop_index('ix_receivable_provisional', table_name='receivable', schema='ledger', postgresql_where=sa.text('deadline_provisional'))
    op.drop_index('ix_receivable_open_deadline', table_name='receivable', schema='ledger', postgresql_where=sa.text("status = 'open'"), postgresql_include=['agent_id', 'institution_id', 'amount', 'received', 'currency'])
    op.drop_index('ix_receivable_id', table_name='receivable', schema='ledger')
    op.drop_index('ix_receivable_agent', table_name='receivable', schema='ledger')
    op.drop_table('receivable', schema='ledger')
    op.drop_index('ix_receipt_pending', table_name='receipt', schema='ledger', postgresql_where=sa.text("status = 'recorded'"))
    op.drop_index('ix_receipt_agent_id', table_name='receipt', schema='ledger')
    op.drop_table('receipt', schema='ledger')
    op.drop_table('org_refresh_due', schema='ledger')
    op.drop_index('ix_org_institution_path', table_name='org_institution', schema='ledger', postgresql_using='gin')
    op.drop_table('org_institution', schema='ledger')
    op.drop_index('ix_org_agent_user_id', table_name='org_agent', schema='ledger')
    op.drop_index('ix_org_agent_path', table_name='org_agent', schema='ledger', postgresql_using='gin')
    op.drop_table('org_agent', schema='ledger')
    op.drop_index('uq_journal_entry_source', table_name='journal_entry', schema='ledger', postgresql_where=sa.text('source IS NOT NULL'))
    op.drop_index('uq_journal_entry_reverses_id', table_name='journal_entry', schema='ledger', postgresql_where=sa.text('reverses_id IS NOT NULL'))
    op.drop_index('ix_journal_entry_posted_at', table_name='journal_entry', schema='ledger')
    op.drop_index('ix_journal_entry_id', table_name='journal_entry', schema='ledger')
    op.drop_table('journal_entry', schema='ledger')
    op.drop_table('customer', schema='ledger')
    op.drop_table('calendar_year', schema='ledger')
    op.drop_table('account', schema='ledger')
    op.execute("DROP FUNCTION ledger.check_entry_balanced()")
    op.execute("DROP FUNCTION ledger.refuse_change()")
