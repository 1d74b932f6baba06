"""The countries a campaign may call (``campaign.countries``, ISO 3166 codes): each person is dialled under
their own country's rules (``lists.jurisdictions``), and only in the countries the campaign names.

An upgraded campaign calls the country of its rules profile, as it did
(``us``: US, ``fr``: FR, ``uk``: GB); its leads from elsewhere are set
aside at the next claim, saying why.

Revision ID: 0020
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None

_HOME = {"us": ["US"], "fr": ["FR"], "uk": ["GB"]}


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("countries", sa.JSON(), nullable=False, server_default="[]"))
    for profile, countries in _HOME.items():
        op.execute(sa.text("UPDATE campaign SET countries = :countries WHERE rules_profile = :profile")
                   .bindparams(sa.bindparam("countries", countries, type_=sa.JSON()), profile=profile))


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("countries")
