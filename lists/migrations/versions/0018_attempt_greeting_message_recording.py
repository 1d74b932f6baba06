"""The attempt's moments the connect limit is measured by, and its recording by a unique id.

Why: the 2-second rule counts from the end of the customer's greeting, so
the ledger keeps that moment (``greeting_end_at``) beside the AMD verdict
(``amd_end_at``) and the bridge (``connected_at``) or the start of the
safe-harbour message (``message_at``). A call's recording is named by an
id no other attempt shares (``recording``: its name under the recordings
folder), so a reused campaign name or a repeated lead id never makes one
call's file another's; ``recording_error`` says why a recording did not
start (the ARI status; never a number or a name).

Revision ID: 0018
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("greeting_end_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("message_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("recording", sa.String(255), nullable=True))
        batch_op.add_column(sa.Column("recording_error", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.drop_column("recording_error")
        batch_op.drop_column("recording")
        batch_op.drop_column("message_at")
        batch_op.drop_column("greeting_end_at")
