"""Fission policy 裂变 (effective-dated) and the record of peer-level separations.

Seeded in force: the Ping An / PICC style of seed 000 §4.2 (peer level separates, a separated
team may return, directly and indirectly nurtured teams count, the first two assessment periods
count back 100%, for promotion and maintenance). The China Life style (no separation, no return,
direct only, 2-year protection, maintenance only) is one policy change away: both are data.

Revision ID: org_0004
Revises: org_0003
Create Date: 2026-11-23
"""

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = 'org_0004'
down_revision = 'org_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fission_policy',
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('style', sa.Text(), nullable=False),
    sa.Column('separate_on_peer_level', sa.Boolean(), nullable=False),
    sa.Column('may_return', sa.Boolean(), nullable=False),
    sa.Column('counts_indirect', sa.Boolean(), nullable=False),
    sa.Column('protection_months', sa.Integer(), nullable=False),
    sa.Column('count_back_periods', sa.Integer(), nullable=False),
    sa.Column('assessment_period_months', sa.Integer(), nullable=False),
    sa.Column('count_back_for_promotion', sa.Boolean(), nullable=False),
    sa.Column('count_back_for_maintenance', sa.Boolean(), nullable=False),
    sa.Column('count_back_share', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('NOT may_return OR separate_on_peer_level', name=op.f('ck_fission_policy_only_separated_teams_return')),
    sa.CheckConstraint('count_back_share >= 0 AND count_back_share <= 1', name=op.f('ck_fission_policy_share_is_a_fraction')),
    sa.CheckConstraint('protection_months >= 0 AND count_back_periods >= 0 AND assessment_period_months > 0', name=op.f('ck_fission_policy_periods_not_negative')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_fission_policy_dates_in_order')),
    sa.PrimaryKeyConstraint('valid_from', name=op.f('pk_fission_policy')),
    schema='org'
    )
    op.create_table('team_separation',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('nurtured_agent_id', sa.BigInteger(), nullable=False),
    sa.Column('nurturer_id', sa.BigInteger(), nullable=False),
    sa.Column('peer_on', sa.Date(), nullable=False),
    sa.Column('separated', sa.Boolean(), nullable=False),
    sa.Column('returned_on', sa.Date(), nullable=True),
    sa.Column('policy_valid_from', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('returned_on IS NULL OR returned_on > peer_on', name=op.f('ck_team_separation_dates_in_order')),
    sa.CheckConstraint('returned_on IS NULL OR separated', name=op.f('ck_team_separation_only_separated_teams_return')),
    sa.ForeignKeyConstraint(['nurtured_agent_id'], ['org.agent.id'], name=op.f('fk_team_separation_nurtured_agent_id_agent')),
    sa.ForeignKeyConstraint(['nurturer_id'], ['org.agent.id'], name=op.f('fk_team_separation_nurturer_id_agent')),
    sa.ForeignKeyConstraint(['policy_valid_from'], ['org.fission_policy.valid_from'], name=op.f('fk_team_separation_policy_valid_from_fission_policy')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_separation')),
    schema='org'
    )
    op.create_index('ix_team_separation_nurturer', 'team_separation', ['nurturer_id'], unique=False, schema='org')
    op.create_index('uq_team_separation_open', 'team_separation', ['nurtured_agent_id', 'nurturer_id'], unique=True, schema='org', postgresql_where=sa.text('returned_on IS NULL'))


    policy = sa.table(
        "fission_policy", sa.column("valid_from", sa.Date), sa.column("style", sa.Text),
        sa.column("separate_on_peer_level", sa.Boolean), sa.column("may_return", sa.Boolean),
        sa.column("counts_indirect", sa.Boolean), sa.column("protection_months", sa.Integer),
        sa.column("count_back_periods", sa.Integer), sa.column("assessment_period_months", sa.Integer),
        sa.column("count_back_for_promotion", sa.Boolean), sa.column("count_back_for_maintenance", sa.Boolean),
        sa.column("count_back_share", sa.Numeric), sa.column("recorded_by", sa.Text), schema="org",
    )
    op.bulk_insert(policy, [{
        "valid_from": date(2000, 1, 1), "style": "ping_an_picc", "separate_on_peer_level": True, "may_return": True,
        "counts_indirect": True, "protection_months": 0, "count_back_periods": 2, "assessment_period_months": 6,
        "count_back_for_promotion": True, "count_back_for_maintenance": True, "count_back_share": Decimal("1.0000"),
        "recorded_by": "migration org_0004",
    }])

def downgrade() -> None:
    op.drop_index('uq_team_separation_open', table_name='team_separation', schema='org', postgresql_where=sa.text('returned_on IS NULL'))
    op.drop_index('ix_team_separation_nurturer', table_name='team_separation', schema='org')
    op.drop_table('team_separation', schema='org')
    op.drop_table('fission_policy', schema='org')
