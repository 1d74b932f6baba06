"""Users, tokens, campaign grants, the lead-view audit log; campaign state and version.

Why: the HTTP API and the consoles serve confidential bank
customers' data, so every request belongs to an account with a role, tokens
are kept only as hashes, managers see only the campaigns granted to them,
and every view of a lead card is logged. ``campaign.state`` lets managers
start, pause and stop a campaign (existing campaigns stay ``running``, as
the daemon ran them before); ``campaign.version`` makes two managers'
concurrent edits fail loudly instead of overwriting each other.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=16), nullable=False, server_default="running"))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=64), nullable=False, unique=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=16), nullable=False, server_default="api"),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "campaign_grant",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), primary_key=True),
    )
    op.create_table(
        "lead_view",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("lead_id", sa.Integer(), sa.ForeignKey("lead.id"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=False),
        sa.Column("viewed_at", sa.DateTime(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False, server_default="lead_card"),
    )
    op.create_index("ix_lead_view_lead", "lead_view", ["lead_id", "viewed_at"])


def downgrade() -> None:
    op.drop_index("ix_lead_view_lead", table_name="lead_view")
    for table in ("lead_view", "campaign_grant", "api_token", "app_user"):
        op.drop_table(table)
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("state")
