"""The activity log, the agent's day in numbers, customers with their private contact data apart,
grades, transfers, the contact access log, inbound enquiries, rules as data, and the replica of the
organisation used for data scope.

Seeds: the kinds of activity of the 5-3-1 and 1-1-1 models (seed 002) and DOMAIN.md §3's default
rules (daily targets, visit minimum, entry window).

Revision ID: activity_0002
Revises: activity_0001
Create Date: 2026-11-29
"""

import json
from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from svckit.directory import create_directory_tables_v1, drop_directory_tables_v1

revision = 'activity_0002'
down_revision = 'activity_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity_day',
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.Column('counts', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('visits', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('explained_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('visits >= 0', name=op.f('ck_activity_day_visits_not_negative')),
    sa.PrimaryKeyConstraint('agent_id', 'day', name=op.f('pk_activity_day')),
    schema='activity'
    )
    op.create_index('ix_activity_day_day_institution', 'activity_day', ['day', 'institution_id'], unique=False, schema='activity')
    op.create_table('activity_kind',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('name_zh', sa.Text(), nullable=False),
    sa.Column('is_visit', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('about_member', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("role IN ('agent', 'supervisor')", name=op.f('ck_activity_kind_role')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_activity_kind')),
    schema='activity'
    )
    op.create_table('contact_access',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.Text(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('request_id', sa.Text(), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_access')),
    schema='activity'
    )
    op.create_index(op.f('ix_contact_access_customer_id'), 'contact_access', ['customer_id'], unique=False, schema='activity')
    op.create_table('customer',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('owner_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=True),
    sa.Column('territory', sa.Text(), nullable=True),
    sa.Column('intent', sa.Integer(), nullable=False),
    sa.Column('grade', sa.Text(), nullable=False),
    sa.Column('obstacle', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('registered_by', sa.Text(), nullable=False),
    sa.CheckConstraint("grade IN ('A', 'B', 'C', 'D', 'E')", name=op.f('ck_customer_grade')),
    sa.CheckConstraint("kind IN ('individual', 'organisation')", name=op.f('ck_customer_kind')),
    sa.CheckConstraint("source IN ('agent', 'enquiry')", name=op.f('ck_customer_source')),
    sa.CheckConstraint('intent BETWEEN 1 AND 5', name=op.f('ck_customer_intent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
    schema='activity'
    )
    op.create_index('ix_customer_owner', 'customer', ['owner_agent_id'], unique=False, schema='activity')
    op.create_index('uq_customer_owner_client_id', 'customer', ['owner_agent_id', 'client_id'], unique=True, schema='activity', postgresql_where=sa.text('client_id IS NOT NULL'))
    create_directory_tables_v1(op.get_bind(), 'activity')
    op.create_table('rule_version',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('value', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_rule_version_dates_in_order')),
    sa.PrimaryKeyConstraint('name', 'valid_from', name=op.f('pk_rule_version')),
    schema='activity'
    )
    op.create_table('customer_contact',
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('company', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['activity.customer.id'], name=op.f('fk_customer_contact_customer_id_customer')),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_contact')),
    schema='activity'
    )
    op.create_table('customer_grade',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('grade', sa.Text(), nullable=False),
    sa.Column('intent', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('graded_by', sa.Text(), nullable=False),
    sa.Column('graded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['activity.customer.id'], name=op.f('fk_customer_grade_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_grade')),
    schema='activity'
    )
    op.create_index(op.f('ix_customer_grade_customer_id'), 'customer_grade', ['customer_id'], unique=False, schema='activity')
    op.create_table('customer_transfer',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('from_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('to_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('transferred_by', sa.Text(), nullable=False),
    sa.Column('transferred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['activity.customer.id'], name=op.f('fk_customer_transfer_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_transfer')),
    schema='activity'
    )
    op.create_index(op.f('ix_customer_transfer_customer_id'), 'customer_transfer', ['customer_id'], unique=False, schema='activity')
    op.create_table('enquiry',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('territory', sa.Text(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('assigned_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('registered_by', sa.Text(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['activity.customer.id'], name=op.f('fk_enquiry_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enquiry')),
    schema='activity'
    )
    op.create_table('entry',
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('member_agent_id', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('version > 0', name=op.f('ck_entry_version_positive')),
    sa.ForeignKeyConstraint(['kind'], ['activity.activity_kind.code'], name=op.f('fk_entry_kind_activity_kind')),
    sa.PrimaryKeyConstraint('agent_id', 'id', name=op.f('pk_entry')),
    schema='activity'
    )
    op.create_index('ix_entry_agent_day', 'entry', ['agent_id', 'day'], unique=False, schema='activity')
    # Adds one day's counts of each kind to another's, dropping kinds that fall to zero.
    op.execute("""
        CREATE FUNCTION activity.add_counts(a jsonb, b jsonb) RETURNS jsonb
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(jsonb_object_agg(key, total), '{}'::jsonb)
              FROM (SELECT key, sum(value::int) AS total
                      FROM (SELECT * FROM jsonb_each_text(a) UNION ALL SELECT * FROM jsonb_each_text(b)) s
                     GROUP BY key) t
             WHERE total <> 0
        $$""")
    _seed_kinds()
    _seed_rules()


KINDS = [
    # code, role, name, name_zh, is_visit, about_member
    ("phone_appointment", "agent", "Phone appointment", "电话约访", False, False),
    ("interview", "agent", "Interview", "面谈", True, False),
    ("closing_visit", "agent", "Closing visit", "促成拜访", True, False),
    ("new_customer_visit", "agent", "New-customer visit", "新客户拜访", True, False),
    ("recruiting_visit", "agent", "Recruiting visit", "增员拜访", True, False),
    ("service_visit", "agent", "Service visit", "服务拜访", True, False),
    ("member_client_callback", "supervisor", "Callback to a member's client", "回访", False, True),
    ("coaching", "supervisor", "One-on-one coaching", "个别辅导", False, True),
    ("tracking_call", "supervisor", "Tracking call to a member", "电话追踪", False, True),
    ("joint_visit", "supervisor", "Joint visit with a member", "陪同拜访", True, True),
]


def _seed_kinds() -> None:
    table = sa.table("activity_kind", sa.column("code"), sa.column("role"), sa.column("name"), sa.column("name_zh"),
                     sa.column("is_visit"), sa.column("about_member"), schema="activity")
    op.bulk_insert(table, [{"code": c, "role": r, "name": n, "name_zh": z, "is_visit": v, "about_member": m}
                           for c, r, n, z, v, m in KINDS])


def _seed_rules() -> None:
    table = sa.table("rule_version", sa.column("name"), sa.column("valid_from"), sa.column("value", postgresql.JSONB),
                     sa.column("recorded_by"), schema="activity")
    since = date(2004, 1, 1)
    op.bulk_insert(table, [
        {"name": "daily_targets", "valid_from": since, "recorded_by": "seed 002 (5-3-1, 1-1-1)",
         "value": json.loads("""{
            "agent": [
                {"label": "5 phone appointments", "kinds": ["phone_appointment"], "minimum": 5},
                {"label": "3 interviews", "kinds": ["interview"], "minimum": 3},
                {"label": "1 closing visit", "kinds": ["closing_visit"], "minimum": 1},
                {"label": "1 new-customer or recruiting visit", "kinds": ["new_customer_visit", "recruiting_visit"],
                 "minimum": 1}],
            "supervisor": [
                {"label": "1 callback to a member's client", "kinds": ["member_client_callback"], "minimum": 1},
                {"label": "1 one-on-one coaching", "kinds": ["coaching"], "minimum": 1},
                {"label": "1 tracking call to a member", "kinds": ["tracking_call"], "minimum": 1}],
            "tracking_calls_per_member_per_week": 2}""")},
        {"name": "visit_minimum", "valid_from": since, "recorded_by": "seed 004 (configurable blanks)",
         "value": json.loads('{"per_day": 5, "flag_after_weeks": 2}')},
        {"name": "entry_window", "valid_from": since, "recorded_by": "default",
         "value": json.loads('{"max_past_days": 31, "future_tolerance_minutes": 10}')},
    ])


def downgrade() -> None:
    op.execute("DROP FUNCTION activity.add_counts(jsonb, jsonb)")
    op.drop_index('ix_entry_agent_day', table_name='entry', schema='activity')
    op.drop_table('entry', schema='activity')
    op.drop_table('enquiry', schema='activity')
    op.drop_index(op.f('ix_customer_transfer_customer_id'), table_name='customer_transfer', schema='activity')
    op.drop_table('customer_transfer', schema='activity')
    op.drop_index(op.f('ix_customer_grade_customer_id'), table_name='customer_grade', schema='activity')
    op.drop_table('customer_grade', schema='activity')
    op.drop_table('customer_contact', schema='activity')
    op.drop_table('rule_version', schema='activity')
    drop_directory_tables_v1(op.get_bind(), 'activity')
    op.drop_index('uq_customer_owner_client_id', table_name='customer', schema='activity', postgresql_where=sa.text('client_id IS NOT NULL'))
    op.drop_index('ix_customer_owner', table_name='customer', schema='activity')
    op.drop_table('customer', schema='activity')
    op.drop_index(op.f('ix_contact_access_customer_id'), table_name='contact_access', schema='activity')
    op.drop_table('contact_access', schema='activity')
    op.drop_table('activity_kind', schema='activity')
    op.drop_index('ix_activity_day_day_institution', table_name='activity_day', schema='activity')
    op.drop_table('activity_day', schema='activity')
