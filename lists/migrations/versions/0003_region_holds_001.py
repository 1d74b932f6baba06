"""lead.region holds three characters: libphonenumber's ``001`` marks the non-geographic codes
(+800 freephone, +979 premium rate), which PostgreSQL refused in a two-character column.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.alter_column("region", existing_type=sa.String(length=2), type_=sa.String(length=3),
                              existing_nullable=True)


def downgrade() -> None:
    op.execute("UPDATE lead SET region = NULL WHERE region = '001'")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.alter_column("region", existing_type=sa.String(length=3), type_=sa.String(length=2),
                              existing_nullable=True)
