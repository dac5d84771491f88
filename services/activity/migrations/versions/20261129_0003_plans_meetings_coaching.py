"""Plans and reviews (weekly review sheets, monthly records with their calendar, team monthly and annual
plans, each submission and review kept as an act), team meetings with attendance, coaching records,
callback records and the supervisor's evening diary.

Seeds: the coaching moments of seed 002 (个别辅导的时机) and DOMAIN.md §3's default plan deadlines (weekly
review on the Monday after its week, monthly record and team monthly plan by the 5th, annual plan before
10 January) and meeting norm (at least 2 morning/evening meetings a week).

Revision ID: activity_0003
Revises: activity_0002
Create Date: 2026-11-29
"""

import json
from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'activity_0003'
down_revision = 'activity_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coaching_moment',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('name_zh', sa.Text(), nullable=False),
    sa.Column('guidance_zh', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_coaching_moment')),
    sa.UniqueConstraint('position', name=op.f('uq_coaching_moment_position')),
    schema='activity'
    )
    op.create_table('meeting',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('leader_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('host_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=True),
    sa.Column('decisions', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('morning', 'evening', 'weekly', 'monthly')", name=op.f('ck_meeting_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting')),
    schema='activity'
    )
    op.create_index('ix_meeting_team_held_on', 'meeting', ['team_id', 'held_on'], unique=False, schema='activity')
    op.create_index('uq_meeting_team_kind_day', 'meeting', ['team_id', 'kind', 'held_on'], unique=True, schema='activity')
    op.create_table('plan_sheet',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'draft'"), nullable=False),
    sa.Column('planned', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('actual', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('calendar', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('target', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('week_split', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('target_checked', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind LIKE 'team_%') = (team_id IS NOT NULL)", name=op.f('ck_plan_sheet_team_plans_name_a_team')),
    sa.CheckConstraint("kind IN ('weekly_review', 'monthly_record', 'team_monthly_plan', 'team_annual_plan')", name=op.f('ck_plan_sheet_kind')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'approved', 'returned')", name=op.f('ck_plan_sheet_status')),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_plan_sheet_period_in_order')),
    sa.CheckConstraint('version > 0', name=op.f('ck_plan_sheet_version_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_sheet')),
    schema='activity'
    )
    op.create_index('ix_plan_sheet_status_period', 'plan_sheet', ['status', 'kind', 'period_start'], unique=False, schema='activity')
    op.create_index('uq_plan_sheet_agent_period', 'plan_sheet', ['kind', 'agent_id', 'period_start'], unique=True, schema='activity', postgresql_where=sa.text('team_id IS NULL'))
    op.create_index('uq_plan_sheet_team_period', 'plan_sheet', ['kind', 'team_id', 'period_start'], unique=True, schema='activity', postgresql_where=sa.text('team_id IS NOT NULL'))
    op.create_table('supervisor_diary',
    sa.Column('supervisor_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('problems', sa.Text(), nullable=True),
    sa.Column('tomorrow_plan', sa.Text(), nullable=True),
    sa.Column('self_check', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('supervisor_agent_id', 'day', name=op.f('pk_supervisor_diary')),
    schema='activity'
    )
    op.create_table('callback_record',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('supervisor_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('member_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('revisit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('advice_to_member', sa.Text(), nullable=True),
    sa.Column('client_id', sa.UUID(), nullable=True),
    sa.Column('entry_id', sa.UUID(), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('reached', 'not_reached', 'declined', 'revisit_agreed')", name=op.f('ck_callback_record_outcome')),
    sa.ForeignKeyConstraint(['customer_id'], ['activity.customer.id'], name=op.f('fk_callback_record_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_record')),
    schema='activity'
    )
    op.create_index('ix_callback_record_member', 'callback_record', ['member_agent_id', 'called_at'], unique=False, schema='activity')
    op.create_index('ix_callback_record_supervisor', 'callback_record', ['supervisor_agent_id', 'called_at'], unique=False, schema='activity')
    op.create_index('uq_callback_record_client_id', 'callback_record', ['supervisor_agent_id', 'client_id'], unique=True, schema='activity', postgresql_where=sa.text('client_id IS NOT NULL'))
    op.create_index('uq_callback_record_entry_id', 'callback_record', ['supervisor_agent_id', 'entry_id'], unique=True, schema='activity', postgresql_where=sa.text('entry_id IS NOT NULL'))
    op.create_table('coaching_record',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('supervisor_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('member_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('coached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('moment', sa.Text(), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('client_id', sa.UUID(), nullable=True),
    sa.Column('entry_id', sa.UUID(), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("method IN ('conversation', 'training', 'joint_visit', 'home_visit')", name=op.f('ck_coaching_record_method')),
    sa.ForeignKeyConstraint(['moment'], ['activity.coaching_moment.code'], name=op.f('fk_coaching_record_moment_coaching_moment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_record')),
    schema='activity'
    )
    op.create_index('ix_coaching_record_member', 'coaching_record', ['member_agent_id', 'coached_at'], unique=False, schema='activity')
    op.create_index('ix_coaching_record_supervisor', 'coaching_record', ['supervisor_agent_id', 'coached_at'], unique=False, schema='activity')
    op.create_index('uq_coaching_record_client_id', 'coaching_record', ['supervisor_agent_id', 'client_id'], unique=True, schema='activity', postgresql_where=sa.text('client_id IS NOT NULL'))
    op.create_index('uq_coaching_record_entry_id', 'coaching_record', ['supervisor_agent_id', 'entry_id'], unique=True, schema='activity', postgresql_where=sa.text('entry_id IS NOT NULL'))
    op.create_table('meeting_attendance',
    sa.Column('meeting_id', sa.BigInteger(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('present', 'absent', 'excused')", name=op.f('ck_meeting_attendance_status')),
    sa.ForeignKeyConstraint(['meeting_id'], ['activity.meeting.id'], name=op.f('fk_meeting_attendance_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meeting_id', 'agent_id', name=op.f('pk_meeting_attendance')),
    schema='activity'
    )
    op.create_table('plan_act',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('sheet_id', sa.BigInteger(), nullable=False),
    sa.Column('act', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('actor_agent_id', sa.BigInteger(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('sheet_version', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("act IN ('submitted', 'approved', 'returned')", name=op.f('ck_plan_act_act')),
    sa.ForeignKeyConstraint(['sheet_id'], ['activity.plan_sheet.id'], name=op.f('fk_plan_act_sheet_id_plan_sheet')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_act')),
    schema='activity'
    )
    op.create_index(op.f('ix_plan_act_sheet_id'), 'plan_act', ['sheet_id'], unique=False, schema='activity')
    _seed_moments()
    _seed_rules()


MOMENTS = [
    # code, name, name_zh, guidance_zh (seed 002, 个别辅导内容)
    ("new_visits", "Starting a new round of visits", "属员正开始全新的拜访时", "帮助组员坚定信心,提供支持"),
    ("frustrated", "Frustrated or lost", "属员感到挫折或迷惘时", "调整心态,积极引导组员面对挫折,树立再次拜访的信心"),
    ("erratic", "Performance erratic", "属员表现反复无常时", "及时了解原因,关心帮助组员解决问题"),
    ("undecided", "Hesitant or at a loss", "属员犹豫不决或一筹莫展时", "及时分析组员存在的困难,并分析问题,进而解决问题"),
    ("unsure_of_ability", "Unsure of their ability", "属员对自己的能力没有把握时", "给予多鼓励,加强组员的自信心"),
    ("wants_to_improve", "Wants to improve", "属员表达了要改进的愿望时", "给予表扬和肯定,并为组员提供相应的行动支持"),
    ("below_standard", "Below the usual standard", "属员表现低于一般要求时", "及时示警,提出改进的方案,帮助组员进步"),
    ("negative_attitude", "Negative attitude affecting work", "属员态度消极,影响工作时",
     "及时分析原因,提出批评,明确主管的态度,提出相关的要求"),
    ("asked_for_help", "Asked for advice or support", "属员请你给予建议、帮助、意见和支持时", "欣然接受,精心辅导,立即反馈"),
    ("large_case", "Closing a large policy with difficulty", "属员正在艰难地促成一张大额保单时", "通过协助陪访的形式,帮助组员促成"),
]


def _seed_moments() -> None:
    table = sa.table("coaching_moment", sa.column("code"), sa.column("name"), sa.column("name_zh"),
                     sa.column("guidance_zh"), sa.column("position"), schema="activity")
    op.bulk_insert(table, [{"code": c, "name": n, "name_zh": z, "guidance_zh": g, "position": i}
                           for i, (c, n, z, g) in enumerate(MOMENTS, start=1)])


def _seed_rules() -> None:
    table = sa.table("rule_version", sa.column("name"), sa.column("valid_from"), sa.column("value", postgresql.JSONB),
                     sa.column("recorded_by"), schema="activity")
    since = date(2004, 1, 1)
    op.bulk_insert(table, [
        {"name": "plan_deadlines", "valid_from": since, "recorded_by": "DOMAIN.md §3 (seed 000 第十三条)",
         "value": json.loads('{"weekly_review_due_weekday": 0, "weekly_review_week_offset": 1, '
                             '"monthly_record_due_day": 5, "team_monthly_plan_due_day": 5, '
                             '"annual_plan_before": "01-10"}')},
        {"name": "meeting_norms", "valid_from": since, "recorded_by": "DOMAIN.md §3 (seed 000 第十三条)",
         "value": json.loads('{"morning_evening_per_week": 2}')},
    ])


def downgrade() -> None:
    op.execute("DELETE FROM activity.rule_version WHERE name IN ('plan_deadlines', 'meeting_norms')")
    op.drop_index(op.f('ix_plan_act_sheet_id'), table_name='plan_act', schema='activity')
    op.drop_table('plan_act', schema='activity')
    op.drop_table('meeting_attendance', schema='activity')
    op.drop_index('uq_coaching_record_entry_id', table_name='coaching_record', schema='activity', postgresql_where=sa.text('entry_id IS NOT NULL'))
    op.drop_index('uq_coaching_record_client_id', table_name='coaching_record', schema='activity', postgresql_where=sa.text('client_id IS NOT NULL'))
    op.drop_index('ix_coaching_record_supervisor', table_name='coaching_record', schema='activity')
    op.drop_index('ix_coaching_record_member', table_name='coaching_record', schema='activity')
    op.drop_table('coaching_record', schema='activity')
    op.drop_index('uq_callback_record_entry_id', table_name='callback_record', schema='activity', postgresql_where=sa.text('entry_id IS NOT NULL'))
    op.drop_index('uq_callback_record_client_id', table_name='callback_record', schema='activity', postgresql_where=sa.text('client_id IS NOT NULL'))
    op.drop_index('ix_callback_record_supervisor', table_name='callback_record', schema='activity')
    op.drop_index('ix_callback_record_member', table_name='callback_record', schema='activity')
    op.drop_table('callback_record', schema='activity')
    op.drop_table('supervisor_diary', schema='activity')
    op.drop_index('uq_plan_sheet_team_period', table_name='plan_sheet', schema='activity', postgresql_where=sa.text('team_id IS NOT NULL'))
    op.drop_index('uq_plan_sheet_agent_period', table_name='plan_sheet', schema='activity', postgresql_where=sa.text('team_id IS NULL'))
    op.drop_index('ix_plan_sheet_status_period', table_name='plan_sheet', schema='activity')
    op.drop_table('plan_sheet', schema='activity')
    op.drop_index('uq_meeting_team_kind_day', table_name='meeting', schema='activity')
    op.drop_index('ix_meeting_team_held_on', table_name='meeting', schema='activity')
    op.drop_table('meeting', schema='activity')
    op.drop_table('coaching_moment', schema='activity')
    # ### end Alembic commands ###
