"""Every stored rule-set version carries its persistency and sales-score parts (and says it has no
recruiting bonus) instead of taking them from the code's defaults when read.

Versions stored before those parts existed (migration 0002's seed among them) read whatever the
code's default was at the time: a later change of a default would then have changed the rules of
closed periods. They are written here with the defaults in force today, as literals, so that what a
version says no longer depends on the code. Versions created through the API store every part
already (rule_sets.create keeps the parsed body whole).

Revision ID: performance_0011
Revises: performance_0010
Create Date: 2026-11-29
"""

import json

import sqlalchemy as sa
from alembic import op

revision = 'performance_0011'
down_revision = 'performance_0010'
branch_labels = None
depends_on = None

PARTS = {
    "recruiting_bonus": None,
    "sales_score": {"measures": [{"measure": "premium", "weight": "0.7"}, {"measure": "new_policies", "weight": "0.3"}],
                    "full_marks": "100", "cap": "100", "places": 2, "rounding": "half_up",
                    "missing_target": "entered_score"},
    "persistency": {"months": 13, "premium_weight": "0.7", "count_weight": "0.3"},
}


def upgrade() -> None:
    for part, value in PARTS.items():
        op.get_bind().execute(sa.text(
            "UPDATE performance.rule_set SET body = body || jsonb_build_object(CAST(:part AS text),"
            " CAST(:value AS jsonb)) WHERE NOT body ? :part"), {"part": part, "value": json.dumps(value)})


def downgrade() -> None:
    """Nothing to undo: the parts written are what the code read in their place."""
