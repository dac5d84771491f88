"""Every stored rule-set version states its nested rules' optional settings too: a management
allowance whether separated teams count back to it, a rank condition each threshold it does not
set (as null: no such condition).

Migration 0011 wrote the parts the seed of migration 0002 lacked; inside the parts it kept, the seed
still left these out and read them from the code's defaults. They are written here as literals, the
defaults in force today, so that a later change of a default cannot change a closed period's rules.
Versions created through the API store them already (rule_sets.create keeps the parsed body whole).

Revision ID: performance_0012
Revises: performance_0011
Create Date: 2026-11-29
"""

import json

import sqlalchemy as sa
from alembic import op

revision = 'performance_0012'
down_revision = 'performance_0011'
branch_labels = None
depends_on = None

# Each list part's items, with what an item that leaves a setting out has always meant.
ITEM_DEFAULTS = {
    "management_allowances": {"count_back": False},
    "rank_conditions": {"fyc_min": None, "policies_min": None, "team_size_min": None, "direct_reports_min": None,
                        "persistency_min": None, "on_failure_rank": None},
}


def upgrade() -> None:
    for part, defaults in ITEM_DEFAULTS.items():
        # An item's own settings win over the defaults (the right operand of || wins); order is kept.
        op.get_bind().execute(sa.text(
            "UPDATE performance.rule_set SET body = jsonb_set(body, ARRAY[CAST(:part AS text)], ("
            "  SELECT jsonb_agg(CAST(:defaults AS jsonb) || item ORDER BY n)"
            "  FROM jsonb_array_elements(body -> :part) WITH ORDINALITY AS x(item, n)))"
            " WHERE jsonb_typeof(body -> :part) = 'array'"
            "   AND EXISTS (SELECT 1 FROM jsonb_array_elements(body -> :part) AS x(item),"
            "               jsonb_object_keys(CAST(:defaults AS jsonb)) AS k WHERE NOT item ? k)"),
            {"part": part, "defaults": json.dumps(defaults)})


def downgrade() -> None:
    """Nothing to undo: the settings written are what the code read in their place."""
