"""Facts from the ledger, the replica of the organisation, the basic law as versioned data (seeded with
DOMAIN.md's defaults in force from 2020-01-01), settlement runs with the inputs they read, statement
lines, payables and disputes.

Revision ID: performance_0002
Revises: performance_0001
Create Date: 2026-11-29 15:48:59.712266+00:00
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from svckit.directory import create_directory_tables_v1, drop_directory_tables_v1

revision = 'performance_0002'
down_revision = 'performance_0001'
branch_labels = None
depends_on = None

_HEADS = ["probationary_supervisor", "supervisor", "assistant_manager", "department_manager", "director"]
_DEPARTMENTS = ["department_manager", "director"]
# A copy (a migration never imports the code that changes after it): performance_service.defaults.
SEED_RULE_SET = {
    "currency": "CNY",
    "rounding": {"mode": "half_up", "places": 2},
    "commission": {"rates": [
        {"product_code": "*", "year_from": 1, "year_to": 1, "rate": "0.30"},
        {"product_code": "*", "year_from": 2, "year_to": 5, "rate": "0.05"},
        {"product_code": "*", "year_from": 6, "year_to": None, "rate": "0"},
    ]},
    "grouping": {"group_head_ranks": _HEADS, "department_head_ranks": _DEPARTMENTS},
    "management_allowances": [
        {"code": "department_direct", "name": "部经理直辖组管理津贴", "ranks": _DEPARTMENTS,
         "base": "direct_group", "mode": "whole", "deduct": [], "brackets": [
             {"lower": "0", "upper": "10000", "rate": "0.19"},
             {"lower": "10000", "upper": "50000", "rate": "0.20"},
             {"lower": "50000", "upper": None, "rate": "0.21"}]},
        {"code": "department_subordinate", "name": "部经理所辖组管理津贴", "ranks": _DEPARTMENTS,
         "base": "subordinate_groups", "mode": "whole", "deduct": [], "count_back": False, "brackets": [
             {"lower": "0", "upper": "30000", "rate": "0.02"},
             {"lower": "30000", "upper": "60000", "rate": "0.04"},
             {"lower": "60000", "upper": "160000", "rate": "0.06"},
             {"lower": "160000", "upper": "260000", "rate": "0.07"},
             {"lower": "260000", "upper": None, "rate": "0.08"}]},
    ],
    "nurturing_allowance": {"ranks": _DEPARTMENTS, "rates_by_generation": ["0.06", "0.03", "0.02"]},
    "withholding": {"basis": "overdue", "rate": "1"},
    "clawback": {"window_months": 12, "share": "1"},
    "kpi_weights": {"sales": "0.5", "ability": "0.3", "attitude": "0.2"},
    "rank_conditions": [
        {"rank_code": "agent", "kind": "promotion", "target_rank": "probationary_supervisor", "months": 6,
         "policies_min": 24, "team_size_min": 3},
        {"rank_code": "supervisor", "kind": "maintenance", "target_rank": "supervisor", "months": 3,
         "policies_min": 3, "team_size_min": 3},
        {"rank_code": "department_manager", "kind": "maintenance", "target_rank": "department_manager",
         "months": 3, "team_size_min": 12},
    ],
}


def upgrade() -> None:
    op.create_table('dispute',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('run_id', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='open', nullable=False),
    sa.Column('raised_by', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('supervisor_note', sa.Text(), nullable=True),
    sa.Column('supervisor_by', sa.Text(), nullable=True),
    sa.Column('supervisor_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finance_note', sa.Text(), nullable=True),
    sa.Column('finance_by', sa.Text(), nullable=True),
    sa.Column('finance_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('adjustment', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('currency', sa.Text(), server_default='CNY', nullable=False),
    sa.Column('settled_in_run', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'supervisor_reviewed', 'accepted', 'rejected', 'settled')", name=op.f('ck_dispute_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute')),
    schema='performance'
    )
    op.create_index('ix_dispute_agent_id', 'dispute', ['agent_id'], unique=False, schema='performance')
    op.create_table('fact',
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=True),
    sa.Column('product_code', sa.Text(), nullable=True),
    sa.Column('policy_year', sa.Integer(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('policies', sa.Integer(), server_default='0', nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.CheckConstraint("kind IN ('fyp', 'standard_premium', 'received_premium', 'new_policy', 'reversal', 'policy_ended')", name=op.f('ck_fact_kind_known')),
    sa.CheckConstraint("period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name=op.f('ck_fact_period_is_a_month')),
    sa.PrimaryKeyConstraint('branch_id', 'id', name=op.f('pk_fact')),
    schema='performance'
    )
    op.create_index('ix_fact_period_agent_id', 'fact', ['period', 'agent_id'], unique=False, schema='performance')
    op.create_index('ix_fact_policy_id', 'fact', ['policy_id'], unique=False, schema='performance')
    op.create_table('fact_quarantine',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('event_type', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('admitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fact_quarantine')),
    sa.UniqueConstraint('event_id', name=op.f('uq_fact_quarantine_event_id')),
    schema='performance'
    )
    create_directory_tables_v1(op.get_bind(), 'performance')
    op.create_table('peer_team',
    sa.Column('nurtured_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('nurturer_id', sa.BigInteger(), nullable=False),
    sa.Column('peer_on', sa.Date(), nullable=False),
    sa.Column('separated', sa.Boolean(), nullable=False),
    sa.Column('policy_style', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('nurtured_agent_id', 'nurturer_id', 'peer_on', name=op.f('pk_peer_team')),
    schema='performance'
    )
    op.create_table('policy',
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('product_code', sa.Text(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Text(), server_default='in_force', nullable=False),
    sa.Column('status_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('policy_id', name=op.f('pk_policy')),
    schema='performance'
    )
    op.create_table('rule_set',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('version', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('in_force', 'proposed')", name=op.f('ck_rule_set_status_known')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_rule_set_dates_in_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_set')),
    sa.UniqueConstraint('version', name=op.f('uq_rule_set_version')),
    schema='performance'
    )
    op.create_index('uq_rule_set_valid_from', 'rule_set', ['valid_from'], unique=True, schema='performance', postgresql_where=sa.text("status = 'in_force'"))
    op.create_table('run_agent',
    sa.Column('run_id', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('supervisor_id', sa.BigInteger(), nullable=True),
    sa.Column('path', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('rank_code', sa.Text(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('run_id', 'agent_id', name=op.f('pk_run_agent')),
    schema='performance'
    )
    op.create_table('run_count_back',
    sa.Column('run_id', sa.Text(), nullable=False),
    sa.Column('nurturer_id', sa.BigInteger(), nullable=False),
    sa.Column('team_head_id', sa.BigInteger(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('separated', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('share', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'nurturer_id', 'team_head_id', name=op.f('pk_run_count_back')),
    schema='performance'
    )
    op.create_table('run_outstanding',
    sa.Column('run_id', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('outstanding', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('overdue', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'agent_id', 'currency', name=op.f('pk_run_outstanding')),
    schema='performance'
    )
    op.create_table('run_payable',
    sa.Column('run_id', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('branch_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('gross', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('net', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('held', sa.Numeric(precision=20, scale=4), server_default='0', nullable=False),
    sa.Column('carried', sa.Numeric(precision=20, scale=4), server_default='0', nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('payable_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("status IN ('to_post', 'posted', 'nothing_due', 'what_if')", name=op.f('ck_run_payable_status_known')),
    sa.PrimaryKeyConstraint('run_id', 'agent_id', name=op.f('pk_run_payable')),
    schema='performance'
    )
    op.create_table('settlement_run',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('mode', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('rule_set_id', sa.BigInteger(), nullable=True),
    sa.Column('rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('supersedes', sa.Text(), nullable=True),
    sa.Column('superseded_by', sa.Text(), nullable=True),
    sa.Column('fact_upto', sa.BigInteger(), nullable=False),
    sa.Column('agents', sa.Integer(), server_default='0', nullable=False),
    sa.Column('totals', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('diff', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('posted', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_by', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("mode IN ('final', 'what_if')", name=op.f('ck_settlement_run_mode_known')),
    sa.CheckConstraint("status IN ('running', 'completed', 'superseded', 'failed')", name=op.f('ck_settlement_run_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_run')),
    schema='performance'
    )
    op.create_index('uq_settlement_run_current', 'settlement_run', ['period'], unique=True, schema='performance', postgresql_where=sa.text("status = 'completed' AND mode = 'final'"))
    op.create_index('uq_settlement_run_running', 'settlement_run', ['period'], unique=True, schema='performance', postgresql_where=sa.text("status = 'running' AND mode = 'final'"))
    op.create_table('statement_line',
    sa.Column('run_id', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('base', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('arithmetic', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'agent_id', 'line_no', name=op.f('pk_statement_line')),
    schema='performance'
    )

    op.execute(sa.text(
        "INSERT INTO performance.rule_set (version, status, valid_from, body, recorded_by)"
        " VALUES ('seed-2020', 'in_force', DATE '2020-01-01', CAST(:body AS jsonb), 'migration')"
    ).bindparams(body=json.dumps(SEED_RULE_SET)))


def downgrade() -> None:
    op.drop_table('statement_line', schema='performance')
    op.drop_index('uq_settlement_run_running', table_name='settlement_run', schema='performance', postgresql_where=sa.text("status = 'running' AND mode = 'final'"))
    op.drop_index('uq_settlement_run_current', table_name='settlement_run', schema='performance', postgresql_where=sa.text("status = 'completed' AND mode = 'final'"))
    op.drop_table('settlement_run', schema='performance')
    op.drop_table('run_payable', schema='performance')
    op.drop_table('run_outstanding', schema='performance')
    op.drop_table('run_count_back', schema='performance')
    op.drop_table('run_agent', schema='performance')
    op.drop_index('uq_rule_set_valid_from', table_name='rule_set', schema='performance', postgresql_where=sa.text("status = 'in_force'"))
    op.drop_table('rule_set', schema='performance')
    op.drop_table('policy', schema='performance')
    op.drop_table('peer_team', schema='performance')
    drop_directory_tables_v1(op.get_bind(), 'performance')
    op.drop_table('fact_quarantine', schema='performance')
    op.drop_index('ix_fact_policy_id', table_name='fact', schema='performance')
    op.drop_index('ix_fact_period_agent_id', table_name='fact', schema='performance')
    op.drop_table('fact', schema='performance')
    op.drop_index('ix_dispute_agent_id', table_name='dispute', schema='performance')
    op.drop_table('dispute', schema='performance')
