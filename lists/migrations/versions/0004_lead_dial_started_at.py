"""lead.dial_started_at: the daemon's write-ahead mark that a claimed lead is being dialled.

Why: a lead is claimed before it is dialled (a small buffer is claimed off
the event loop), so after a crash ``claimed`` alone cannot tell a lead that
was rung from one that was only waiting in the buffer. The daemon commits
this mark before it originates the call and clears it with the attempt's
ledger row; at start-up a claimed lead with the mark gets an "interrupted"
attempt, one without it goes back to its queue untouched.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dial_started_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("dial_started_at")
