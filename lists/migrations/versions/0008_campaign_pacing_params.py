"""A campaign's pacing parameters: its dial mode's own settings (``safety``, ``ratio`` ...) as JSON.

Why: an analyst tunes a policy's parameters in the simulator's scenario;
without a column for them the daemon dialled every campaign on the
policy's defaults, so what was tuned was not what ran. Existing campaigns
get {} (the defaults), so they dial as before.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pacing_params", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("pacing_params")
