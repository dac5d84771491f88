"""Team change workflow: the team standards and the approval chain as effective-dated rule tables,
requests to create, merge, split (fission 裂变) or dissolve teams, the chain copied onto each request,
and one decision row per step.

Seeded defaults (DOMAIN.md §2, seed 000 第四条 and 第八条), all valid from 2000-01-01, open-ended:

- team_standard, departments 业务部: annual standard-premium plan ≥ 5,000,000.00 CNY under a branch
  sales office 营业部 (sales_office); ≥ 4,000,000.00 CNY under tier-3/4 institutions, i.e. marketing
  service offices 营销服务部 (service_office) and sub-branches 支公司 (sub_branch).
- team_standard, groups 业务组 under those departments: no premium minimum of their own (0 CNY; the
  seed sets the premium standard for teams, which groups are part of).
- Size norm for both kinds: at least 4 people, the smallest unit the rank rules know (seed 000: a
  supervisor's or probationary supervisor's group is 4 people including 1 supervisor); no maximum
  (max_headcount NULL) until a company sets one to trigger fission.
- No standard is seeded for teams directly under a branch: such requests are refused
  (no_team_standard) until an administrator adds one.
- approval_chain "team_change": 1 institution (the application itself), 2 branch marketing
  management 分公司营销管理部 (role marketing_management), 3 branch GM office 分公司总经理室 (role
  gm_office), 4 HQ marketing management 总公司营销管理部 (role marketing_management). Steps 2–3 are
  decided by someone assigned to the request's branch (tier 2), step 4 by someone assigned to HQ
  (tier 1), so a branch's marketing management cannot give HQ's approval; admin may act on any step.

Revision ID: org_0003
Revises: org_0002
Create Date: 2026-11-23
"""

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'org_0003'
down_revision = 'org_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('approval_chain',
    sa.Column('chain', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('step', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=True),
    sa.Column('tier', sa.SmallInteger(), nullable=True),
    sa.CheckConstraint('(position = 1) = (role IS NULL)', name=op.f('ck_approval_chain_only_the_application_has_no_role')),
    sa.CheckConstraint('tier BETWEEN 1 AND 4', name=op.f('ck_approval_chain_tier')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_approval_chain_dates_in_order')),
    sa.PrimaryKeyConstraint('chain', 'valid_from', 'position', name=op.f('pk_approval_chain')),
    schema='org'
    )
    op.create_table('team_standard',
    sa.Column('institution_kind', sa.Text(), nullable=False),
    sa.Column('team_kind', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('min_annual_premium_plan', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.Text(), server_default='CNY', nullable=False),
    sa.Column('min_headcount', sa.Integer(), nullable=False),
    sa.Column('max_headcount', sa.Integer(), nullable=True),
    sa.CheckConstraint("team_kind IN ('department', 'group')", name=op.f('ck_team_standard_team_kind')),
    sa.CheckConstraint('min_annual_premium_plan >= 0', name=op.f('ck_team_standard_plan_not_negative')),
    sa.CheckConstraint('min_headcount >= 0 AND (max_headcount IS NULL OR max_headcount >= min_headcount)', name=op.f('ck_team_standard_headcount_range')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_team_standard_dates_in_order')),
    sa.PrimaryKeyConstraint('institution_kind', 'team_kind', 'valid_from', name=op.f('pk_team_standard')),
    schema='org'
    )
    op.create_table('team_change_request',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('current_step', sa.SmallInteger(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('annual_premium_plan', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('standard', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('requester', sa.Text(), nullable=False),
    sa.Column('requester_user_id', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.Text(), nullable=True),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.CheckConstraint("(current_step IS NULL) = (status IN ('approved', 'rejected', 'cancelled', 'executed'))", name=op.f('ck_team_change_request_open_requests_have_a_current_step')),
    sa.CheckConstraint("kind IN ('create', 'merge', 'split', 'dissolve')", name=op.f('ck_team_change_request_kind')),
    sa.CheckConstraint("status IN ('submitted', 'in_review', 'approved', 'rejected', 'cancelled', 'executed')", name=op.f('ck_team_change_request_status')),
    sa.CheckConstraint('(annual_premium_plan IS NULL) = (currency IS NULL)', name=op.f('ck_team_change_request_plan_has_a_currency')),
    sa.ForeignKeyConstraint(['institution_id'], ['org.institution.id'], name=op.f('fk_team_change_request_institution_id_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_change_request')),
    schema='org'
    )
    op.create_index('ix_team_change_request_institution', 'team_change_request', ['institution_id', 'id'], unique=False, schema='org')
    op.create_index('ix_team_change_request_status', 'team_change_request', ['status', 'id'], unique=False, schema='org')
    op.create_table('team_change_step',
    sa.Column('request_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('step', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=True),
    sa.Column('tier', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['org.team_change_request.id'], name=op.f('fk_team_change_step_request_id_team_change_request')),
    sa.PrimaryKeyConstraint('request_id', 'position', name=op.f('pk_team_change_step')),
    schema='org'
    )
    op.create_table('team_change_decision',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('request_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('step', sa.Text(), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.CheckConstraint("decision IN ('approve', 'reject')", name=op.f('ck_team_change_decision_decision')),
    sa.ForeignKeyConstraint(['request_id', 'position'], ['org.team_change_step.request_id', 'org.team_change_step.position'], name=op.f('fk_team_change_decision_request_id_team_change_step')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_change_decision')),
    sa.UniqueConstraint('request_id', 'position', name=op.f('uq_team_change_decision_request_id_position')),
    schema='org'
    )
    _seed()


def _seed() -> None:
    since = date(2000, 1, 1)
    standard = sa.table(
        "team_standard", sa.column("institution_kind", sa.Text), sa.column("team_kind", sa.Text),
        sa.column("valid_from", sa.Date), sa.column("min_annual_premium_plan", sa.Numeric(18, 2)),
        sa.column("currency", sa.Text), sa.column("min_headcount", sa.Integer), sa.column("max_headcount", sa.Integer),
        schema="org")
    plans = {"sales_office": Decimal("5000000.00"), "service_office": Decimal("4000000.00"),
             "sub_branch": Decimal("4000000.00")}
    op.bulk_insert(standard, [
        {"institution_kind": kind, "team_kind": team_kind, "valid_from": since, "currency": "CNY",
         "min_annual_premium_plan": plan if team_kind == "department" else Decimal("0.00"),
         "min_headcount": 4, "max_headcount": None}
        for kind, plan in plans.items() for team_kind in ("department", "group")
    ])
    chain = sa.table("approval_chain", sa.column("chain", sa.Text), sa.column("valid_from", sa.Date),
                     sa.column("position", sa.SmallInteger), sa.column("step", sa.Text), sa.column("role", sa.Text),
                     sa.column("tier", sa.SmallInteger), schema="org")
    op.bulk_insert(chain, [
        {"chain": "team_change", "valid_from": since, "position": position, "step": step, "role": role, "tier": tier}
        for position, (step, role, tier) in enumerate([
            ("institution", None, None), ("branch_marketing_management", "marketing_management", 2),
            ("branch_gm_office", "gm_office", 2), ("hq_marketing_management", "marketing_management", 1),
        ], start=1)
    ])


def downgrade() -> None:
    op.drop_table('team_change_decision', schema='org')
    op.drop_table('team_change_step', schema='org')
    op.drop_index('ix_team_change_request_status', table_name='team_change_request', schema='org')
    op.drop_index('ix_team_change_request_institution', table_name='team_change_request', schema='org')
    op.drop_table('team_change_request', schema='org')
    op.drop_table('team_standard', schema='org')
    op.drop_table('approval_chain', schema='org')
