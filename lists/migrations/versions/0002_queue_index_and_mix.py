"""Claim queue: next_at always set, an index that serves each status queue in order, the fresh-lead share;
DNC registries kept per company (dnc_source becomes dnc_registry, its rows assigned to the default company).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE lead SET next_at = '2000-01-01 00:00:00' WHERE next_at IS NULL")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.alter_column("next_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.drop_index("ix_lead_dialable")
        batch_op.create_index("ix_lead_queue", ["campaign_id", "status", "next_at", "id"], unique=False)
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fresh_share", sa.Float(), nullable=False, server_default="0"))
    op.create_table(
        "dnc_registry",
        sa.Column("company", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("company", "name"),
    )
    op.execute("INSERT INTO dnc_registry (company, name, refreshed_at, entries) "
               "SELECT 'default', name, refreshed_at, 0 FROM dnc_source")
    op.drop_table("dnc_source")


def downgrade() -> None:
    op.create_table(
        "dnc_source",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute("INSERT INTO dnc_source (name, refreshed_at) "
               "SELECT name, MAX(refreshed_at) FROM dnc_registry GROUP BY name")
    op.drop_table("dnc_registry")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("fresh_share")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_queue")
        batch_op.create_index("ix_lead_dialable", ["campaign_id", "status", "next_at"], unique=False)
        batch_op.alter_column("next_at", existing_type=sa.DateTime(), nullable=True)
