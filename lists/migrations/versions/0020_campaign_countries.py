"""The countries a campaign may call (``campaign.countries``, ISO 3166 codes): each person is dialled under
their own country's rules (``lists.jurisdictions``), and only in the countries the campaign names.

An upgraded campaign calls the country of its rules profile, as it did
(``us``: US, ``fr``: FR, ``uk``: GB); its leads from elsewhere are set
aside at the next claim, saying why. A lead stored without a country gets
its number's (a sealed number cannot be read here, and the importer has
always given one).

Revision ID: 0020
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from lists.numbers import country_of

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

_HOME = {"us": ["US"], "fr": ["FR"], "uk": ["GB"]}


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("countries", sa.JSON(), nullable=False, server_default="[]"))
    for profile, countries in _HOME.items():
        op.execute(sa.text("UPDATE campaign SET countries = :countries WHERE rules_profile = :profile")
                   .bindparams(sa.bindparam("countries", countries, type_=sa.JSON()), profile=profile))
    _countries_of_leads()


def _countries_of_leads() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, phone_e164 FROM lead WHERE region IS NULL")).all()
    found = [{"id": row_id, "region": country_of(phone)} for row_id, phone in rows if not phone.startswith("s1.")]
    if found:
        connection.execute(sa.text("UPDATE lead SET region = :region WHERE id = :id"), found)


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("countries")
