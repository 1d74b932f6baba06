"""Results refused by the fence, handed over to the campaign's next owner.

Why: a daemon paused past its lease finds, when it wakes, that another
daemon took its campaign over and wrote an "interrupted" attempt for each of
its calls in progress. Its calls' real results (a sale, a refusal, a person
asking not to be called again) were refused by the fence and lost. Now they
are kept in ``attempt_handover``, a message that needs no lease, and the
campaign's owner applies them with its own token: each replaces its dial's
placeholder, found by (lead, dial mark), unique here.

Revision ID: 0014
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempt_handover",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=False),
        sa.Column("lead_id", sa.Integer(), sa.ForeignKey("lead.id"), nullable=False),
        sa.Column("dialled_at", sa.DateTime(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("handed_at", sa.DateTime(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.Column("applied_token", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.String(16), nullable=True),
        sa.UniqueConstraint("lead_id", "dialled_at", name="uq_attempt_handover_dial"),
    )
    op.create_index("ix_attempt_handover_pending", "attempt_handover", ["campaign_id", "applied_at"])


def downgrade() -> None:
    op.drop_index("ix_attempt_handover_pending", table_name="attempt_handover")
    op.drop_table("attempt_handover")
