"""Campaign leases and cluster members: several daemons on one PostgreSQL.

Why: each campaign is dialled by one daemon at a time. ``campaign_lease``
holds its owner, the lease's expiry (judged by the database's clock) and a
fencing token that grows at every takeover; every claim and attempt write
checks the token in its own transaction, so a daemon that was paused past
its lease cannot write. The row also keeps the campaign's pacing memory
(the controller, saved at intervals) so a takeover does not start cold, and
the campaign's agent count, by which daemons balance their load.
``cluster_member`` is each daemon's heartbeat and its drain flag.
``lead.claim_token`` and ``attempt.lease_token`` record the token each claim
and each ledger row was written under (NULL: a single daemon, no lease).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_lease",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), primary_key=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("expires_at", sa.DateTime(), nullable=False, server_default="2000-01-01 00:00:00"),
        sa.Column("agents", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("pacing", sa.LargeBinary(), nullable=True),
        sa.Column("pacing_saved_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "cluster_member",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("agents", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("draining", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_token", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.drop_column("lease_token")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("claim_token")
    op.drop_table("cluster_member")
    op.drop_table("campaign_lease")
