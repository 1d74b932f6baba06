"""The agents' log: when each agent logged in, paused (and why), was ready again and logged out.

Why: occupancy is talk and wrap-up over logged-in time with paused time
taken out, and the store kept neither log-ins nor pauses, so no report could
say it. Rows are appended, never updated. Existing stores get an empty log:
their agents report shows no logged-in time before this migration.

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("pause_reason", sa.String(length=48), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_event_campaign_at", "agent_event", ["campaign_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_agent_event_campaign_at", table_name="agent_event")
    op.drop_table("agent_event")
