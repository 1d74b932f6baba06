"""Personal data at rest: a person's blind index beside every number, room for sealed values, a company's
retention period, the ``store_seal`` row, and room for a sealed TOTP secret.

An upgraded store stays clear (``lists.sealing``): it gets a random salt
for its blind index, every lead and DNC entry gets its ``phone_key`` under
that salt, and lookups (a lead's duplicate, a DNC match) move from the
number to the key. ``dialer privacy encrypt`` seals it later, with a key.

Revision ID: 0016
Revises: 0015
"""

import base64
import secrets

import sqlalchemy as sa
from alembic import op

from lists.sealing import Sealer, SealMode

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _fill_keys(table: str, sealer: Sealer) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT id, phone_e164 FROM {table}")).all()
    if rows:
        connection.execute(sa.text(f"UPDATE {table} SET phone_key = :key WHERE id = :id"),
                           [{"id": row_id, "key": sealer.key_of(phone)} for row_id, phone in rows])


def upgrade() -> None:
    salt = secrets.token_bytes(32)
    op.create_table(
        "store_seal",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("index_salt", sa.String(length=64), nullable=False),
        sa.Column("key_check", sa.String(length=64), nullable=True),
    )
    op.execute(sa.text("INSERT INTO store_seal (id, mode, index_salt) VALUES (1, :mode, :salt)")
               .bindparams(mode=SealMode.CLEAR.value, salt=base64.b64encode(salt).decode()))
    sealer = Sealer(salt)
    for table in ("lead", "dnc_entry"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("phone_key", sa.String(length=32), nullable=True))
        _fill_keys(table, sealer)
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.alter_column("phone_key", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("phone_e164", existing_type=sa.String(length=20), type_=sa.Text())
        batch_op.alter_column("name", existing_type=sa.String(length=200), type_=sa.Text())
        batch_op.drop_constraint("uq_lead_campaign_phone", type_="unique")
        batch_op.create_unique_constraint("uq_lead_campaign_person", ["campaign_id", "phone_key"])
        batch_op.create_index("ix_lead_person", ["phone_key"], unique=False)  # a person across campaigns
    with op.batch_alter_table("dnc_entry", schema=None) as batch_op:
        batch_op.alter_column("phone_key", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("phone_e164", existing_type=sa.String(length=20), type_=sa.Text())
        batch_op.drop_index("ix_dnc_entry_phone_e164")
        batch_op.drop_constraint("uq_dnc", type_="unique")
        batch_op.create_unique_constraint("uq_dnc_person", ["company", "phone_key", "source"])
        batch_op.create_index("ix_dnc_entry_phone_key", ["phone_key"], unique=False)
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("app_user", schema=None) as batch_op:  # a second factor's secret is sealed too
        batch_op.alter_column("totp_secret", existing_type=sa.String(length=64), type_=sa.Text())


def downgrade() -> None:
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
    with op.batch_alter_table("dnc_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_dnc_entry_phone_key")
        batch_op.drop_constraint("uq_dnc_person", type_="unique")
        batch_op.create_unique_constraint("uq_dnc", ["company", "phone_e164", "source"])
        batch_op.create_index("ix_dnc_entry_phone_e164", ["phone_e164"], unique=False)
        batch_op.drop_column("phone_key")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_person")
        batch_op.drop_constraint("uq_lead_campaign_person", type_="unique")
        batch_op.create_unique_constraint("uq_lead_campaign_phone", ["campaign_id", "phone_e164"])
        batch_op.drop_column("phone_key")
    op.drop_table("store_seal")
