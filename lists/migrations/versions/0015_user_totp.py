"""An account's optional second factor: a TOTP secret, and the last time step a code was accepted for.

Why the step: a code is valid for its 30-second step (and one either side,
for clock drift); remembering the last step taken refuses the same code
twice, so a code read over a shoulder cannot be replayed.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("totp_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("totp_step")
        batch_op.drop_column("totp_secret")
