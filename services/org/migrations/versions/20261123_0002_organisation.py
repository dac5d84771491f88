"""Organisation: institutions, teams and their names, the rank ladder and its rules, agents,
effective-dated positions with their supervisor path, bloodline, subtree rollups, change record.

The default ladder and rank rules are DOMAIN.md's defaults (seed 000); they are data that
administrators change, not constants.

Revision ID: org_0002
Revises: org_0001
Create Date: 2026-11-23
"""

from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'org_0002'
down_revision = 'org_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('institution',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('tier', sa.SmallInteger(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('path', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('hq', 'branch', 'sales_office', 'service_office', 'sub_branch')", name=op.f('ck_institution_kind')),
    sa.CheckConstraint('closed_on IS NULL OR closed_on > opened_on', name=op.f('ck_institution_dates_in_order')),
    sa.CheckConstraint('tier BETWEEN 1 AND 4', name=op.f('ck_institution_tier')),
    sa.ForeignKeyConstraint(['parent_id'], ['org.institution.id'], name=op.f('fk_institution_parent_id_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institution')),
    sa.UniqueConstraint('code', name=op.f('uq_institution_code')),
    schema='org'
    )
    op.create_index('ix_institution_path', 'institution', ['path'], unique=False, schema='org', postgresql_using='gin')
    op.create_table('org_change',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('subject_type', sa.Text(), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_change')),
    schema='org'
    )
    op.create_index('ix_org_change_subject', 'org_change', ['subject_type', 'subject_id'], unique=False, schema='org')
    op.create_table('rank',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name_zh', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('ladder_order', sa.Integer(), nullable=False),
    sa.Column('is_supervisor', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_rank')),
    sa.UniqueConstraint('ladder_order', name=op.f('uq_rank_ladder_order')),
    schema='org'
    )
    op.create_table('agent',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('licence_no', sa.Text(), nullable=False),
    sa.Column('hire_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Text(), server_default='active', nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('home_institution_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'left') = (left_on IS NOT NULL)", name=op.f('ck_agent_left_has_a_date')),
    sa.CheckConstraint("status IN ('active', 'suspended', 'left')", name=op.f('ck_agent_status')),
    sa.ForeignKeyConstraint(['home_institution_id'], ['org.institution.id'], name=op.f('fk_agent_home_institution_id_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent')),
    sa.UniqueConstraint('code', name=op.f('uq_agent_code')),
    sa.UniqueConstraint('licence_no', name=op.f('uq_agent_licence_no')),
    sa.UniqueConstraint('user_id', name=op.f('uq_agent_user_id')),
    schema='org'
    )
    op.create_table('rank_rule',
    sa.Column('rank_code', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('min_team_size', sa.Integer(), server_default='0', nullable=False),
    sa.Column('min_supervisors_in_team', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_direct_reports', sa.Integer(), nullable=True),
    sa.Column('may_report_to_lower_rank', sa.Boolean(), server_default='false', nullable=False),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_rank_rule_dates_in_order')),
    sa.ForeignKeyConstraint(['rank_code'], ['org.rank.code'], name=op.f('fk_rank_rule_rank_code_rank')),
    sa.PrimaryKeyConstraint('rank_code', 'valid_from', name=op.f('pk_rank_rule')),
    schema='org'
    )
    op.create_table('team',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('parent_team_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'department') = (parent_team_id IS NULL)", name=op.f('ck_team_groups_have_a_department')),
    sa.CheckConstraint("kind IN ('department', 'group')", name=op.f('ck_team_kind')),
    sa.CheckConstraint('number > 0', name=op.f('ck_team_number_positive')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_team_dates_in_order')),
    sa.ForeignKeyConstraint(['institution_id'], ['org.institution.id'], name=op.f('fk_team_institution_id_institution')),
    sa.ForeignKeyConstraint(['parent_team_id'], ['org.team.id'], name=op.f('fk_team_parent_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    schema='org'
    )
    op.create_table('agent_lineage',
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('sponsor_id', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("kind IN ('recruiter', 'nurturer')", name=op.f('ck_agent_lineage_kind')),
    sa.CheckConstraint('sponsor_id <> agent_id', name=op.f('ck_agent_lineage_not_own_sponsor')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_agent_lineage_dates_in_order')),
    sa.ForeignKeyConstraint(['agent_id'], ['org.agent.id'], name=op.f('fk_agent_lineage_agent_id_agent')),
    sa.ForeignKeyConstraint(['sponsor_id'], ['org.agent.id'], name=op.f('fk_agent_lineage_sponsor_id_agent')),
    sa.PrimaryKeyConstraint('agent_id', 'kind', 'valid_from', name=op.f('pk_agent_lineage')),
    schema='org'
    )
    op.create_index('ix_agent_lineage_sponsor', 'agent_lineage', ['sponsor_id', 'kind'], unique=False, schema='org')
    op.create_table('agent_position',
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('supervisor_id', sa.BigInteger(), nullable=True),
    sa.Column('team_id', sa.BigInteger(), nullable=True),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('rank_code', sa.Text(), nullable=False),
    sa.Column('path', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('cardinality(path) = 0 OR path[cardinality(path)] = supervisor_id', name=op.f('ck_agent_position_path_ends_at_supervisor')),
    sa.CheckConstraint('supervisor_id IS DISTINCT FROM agent_id', name=op.f('ck_agent_position_not_own_supervisor')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_agent_position_dates_in_order')),
    sa.ForeignKeyConstraint(['agent_id'], ['org.agent.id'], name=op.f('fk_agent_position_agent_id_agent')),
    sa.ForeignKeyConstraint(['institution_id'], ['org.institution.id'], name=op.f('fk_agent_position_institution_id_institution')),
    sa.ForeignKeyConstraint(['rank_code'], ['org.rank.code'], name=op.f('fk_agent_position_rank_code_rank')),
    sa.ForeignKeyConstraint(['supervisor_id'], ['org.agent.id'], name=op.f('fk_agent_position_supervisor_id_agent')),
    sa.ForeignKeyConstraint(['team_id'], ['org.team.id'], name=op.f('fk_agent_position_team_id_team')),
    sa.PrimaryKeyConstraint('agent_id', 'valid_from', name=op.f('pk_agent_position')),
    schema='org'
    )
    op.create_index('ix_agent_position_open_supervisor', 'agent_position', ['supervisor_id'], unique=False, schema='org', postgresql_where=sa.text('valid_to IS NULL'))
    op.create_index('ix_agent_position_open_team', 'agent_position', ['team_id'], unique=False, schema='org', postgresql_where=sa.text('valid_to IS NULL'))
    op.create_index('ix_agent_position_path', 'agent_position', ['path'], unique=False, schema='org', postgresql_using='gin')
    op.create_table('subtree_rollup',
    sa.Column('agent_id', sa.BigInteger(), nullable=False),
    sa.Column('rank_code', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.CheckConstraint('headcount >= 0', name=op.f('ck_subtree_rollup_headcount_not_negative')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_subtree_rollup_dates_in_order')),
    sa.ForeignKeyConstraint(['agent_id'], ['org.agent.id'], name=op.f('fk_subtree_rollup_agent_id_agent')),
    sa.ForeignKeyConstraint(['rank_code'], ['org.rank.code'], name=op.f('fk_subtree_rollup_rank_code_rank')),
    sa.PrimaryKeyConstraint('agent_id', 'rank_code', 'valid_from', name=op.f('pk_subtree_rollup')),
    schema='org'
    )
    op.create_table('team_name',
    sa.Column('team_id', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_team_name_dates_in_order')),
    sa.ForeignKeyConstraint(['team_id'], ['org.team.id'], name=op.f('fk_team_name_team_id_team')),
    sa.PrimaryKeyConstraint('team_id', 'valid_from', name=op.f('pk_team_name')),
    schema='org'
    )
    op.create_index('uq_team_name_current', 'team_name', ['name'], unique=True, schema='org', postgresql_where=sa.text('valid_to IS NULL'))


    rank = sa.table("rank", sa.column("code", sa.Text), sa.column("name_zh", sa.Text), sa.column("name_en", sa.Text),
                    sa.column("ladder_order", sa.Integer), sa.column("is_supervisor", sa.Boolean), schema="org")
    op.bulk_insert(rank, [
        {"code": "agent", "name_zh": "业务员", "name_en": "Agent", "ladder_order": 10, "is_supervisor": False},
        {"code": "probationary_supervisor", "name_zh": "见习业务主任", "name_en": "Probationary supervisor",
         "ladder_order": 20, "is_supervisor": True},
        {"code": "supervisor", "name_zh": "业务主任", "name_en": "Supervisor", "ladder_order": 30, "is_supervisor": True},
        {"code": "assistant_manager", "name_zh": "业务襄理", "name_en": "Assistant manager", "ladder_order": 40,
         "is_supervisor": True},
        {"code": "department_manager", "name_zh": "部经理", "name_en": "Department manager", "ladder_order": 50,
         "is_supervisor": True},
        {"code": "director", "name_zh": "总监", "name_en": "Director", "ladder_order": 60, "is_supervisor": True},
    ])
    rule = sa.table("rank_rule", sa.column("rank_code", sa.Text), sa.column("valid_from", sa.Date),
                    sa.column("min_team_size", sa.Integer), sa.column("min_supervisors_in_team", sa.Integer),
                    sa.column("max_direct_reports", sa.Integer), sa.column("may_report_to_lower_rank", sa.Boolean),
                    schema="org")
    since = date(2000, 1, 1)
    # Team sizes include the supervisor (seed 000: assistant manager 13–15 people incl. 3 supervisors;
    # supervisor's group 4 incl. 1 supervisor; probationary supervisor 4 incl. 1 supervisor).
    op.bulk_insert(rule, [
        {"rank_code": "agent", "valid_from": since, "min_team_size": 0, "min_supervisors_in_team": 0,
         "max_direct_reports": None, "may_report_to_lower_rank": False},
        {"rank_code": "probationary_supervisor", "valid_from": since, "min_team_size": 4, "min_supervisors_in_team": 1,
         "max_direct_reports": None, "may_report_to_lower_rank": False},
        {"rank_code": "supervisor", "valid_from": since, "min_team_size": 4, "min_supervisors_in_team": 1,
         "max_direct_reports": None, "may_report_to_lower_rank": False},
        {"rank_code": "assistant_manager", "valid_from": since, "min_team_size": 13, "min_supervisors_in_team": 3,
         "max_direct_reports": None, "may_report_to_lower_rank": False},
        {"rank_code": "department_manager", "valid_from": since, "min_team_size": 13, "min_supervisors_in_team": 3,
         "max_direct_reports": None, "may_report_to_lower_rank": False},
        {"rank_code": "director", "valid_from": since, "min_team_size": 13, "min_supervisors_in_team": 3,
         "max_direct_reports": None, "may_report_to_lower_rank": False},
    ])

def downgrade() -> None:
    op.drop_index('uq_team_name_current', table_name='team_name', schema='org', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_table('team_name', schema='org')
    op.drop_table('subtree_rollup', schema='org')
    op.drop_index('ix_agent_position_path', table_name='agent_position', schema='org', postgresql_using='gin')
    op.drop_index('ix_agent_position_open_team', table_name='agent_position', schema='org', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index('ix_agent_position_open_supervisor', table_name='agent_position', schema='org', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_table('agent_position', schema='org')
    op.drop_index('ix_agent_lineage_sponsor', table_name='agent_lineage', schema='org')
    op.drop_table('agent_lineage', schema='org')
    op.drop_table('team', schema='org')
    op.drop_table('rank_rule', schema='org')
    op.drop_table('agent', schema='org')
    op.drop_table('rank', schema='org')
    op.drop_index('ix_org_change_subject', table_name='org_change', schema='org')
    op.drop_table('org_change', schema='org')
    op.drop_index('ix_institution_path', table_name='institution', schema='org', postgresql_using='gin')
    op.drop_table('institution', schema='org')
