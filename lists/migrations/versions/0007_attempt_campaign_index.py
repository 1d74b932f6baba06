"""An index on attempts by campaign and dial time.

Why: a daemon that starts a campaign (a restart, a takeover) reads the last
31 days of its answers from the ledger to restore the abandonment budget's
counts, and the daily compliance report reads the day's and the 30 days'.
Without this index both scan every campaign's attempts.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_attempt_campaign_dialled", "attempt", ["campaign_id", "dialled_at"])


def downgrade() -> None:
    op.drop_index("ix_attempt_campaign_dialled", table_name="attempt")
