"""Consent per person and company, its withdrawals, customer relationships, and the "objects" outcome offered on
every call of every campaign.

Why the catalogues too: an outcome is offered to the agent only if the
campaign's catalogue holds it, and a campaign made before this revision has
its catalogue stored; the Netherlands ask that the right to object be
offered in every call.

Revision ID: 0019
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

OBJECTS = ("objects", "Objects to further calls")  # lists.campaigns' common outcome, as of this revision


def _person_columns() -> list[sa.Column]:
    return [sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("company", sa.String(length=120), nullable=False),
            sa.Column("phone_key", sa.String(length=32), nullable=False)]


def _offer_objection(add: bool) -> None:
    campaign = sa.table("campaign", sa.column("id", sa.Integer()), sa.column("catalogue", sa.JSON()))
    connection = op.get_bind()
    for campaign_id, stored in connection.execute(sa.select(campaign.c.id, campaign.c.catalogue)).all():
        catalogue = dict(stored)
        outcomes = dict(catalogue.get("outcomes", {}))
        if add:
            outcomes.setdefault(*OBJECTS)
        else:
            outcomes.pop(OBJECTS[0], None)
        connection.execute(sa.update(campaign).where(campaign.c.id == campaign_id)
                           .values(catalogue={**catalogue, "outcomes": outcomes}))


def upgrade() -> None:
    op.create_table(
        "consent", *_person_columns(),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("given_at", sa.DateTime(), nullable=False),
        sa.Column("how", sa.String(length=200), nullable=False),
        sa.Column("proof", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.UniqueConstraint("company", "phone_key", "purpose", "channel", "given_at", name="uq_consent_given"),
    )
    op.create_index("ix_consent_phone_key", "consent", ["phone_key"], unique=False)
    op.create_table(
        "consent_withdrawal", *_person_columns(),
        sa.Column("purpose", sa.String(length=16), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=False),
        sa.Column("how", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
    )
    op.create_index("ix_consent_withdrawal_phone_key", "consent_withdrawal", ["phone_key"], unique=False)
    op.create_table(
        "customer_relationship", *_person_columns(),
        sa.Column("customer_since", sa.Date(), nullable=True),
        sa.Column("customer_until", sa.Date(), nullable=False),
        sa.UniqueConstraint("company", "phone_key", name="uq_customer_person"),
    )
    _offer_objection(add=True)


def downgrade() -> None:
    _offer_objection(add=False)
    op.drop_table("customer_relationship")
    op.drop_index("ix_consent_withdrawal_phone_key", table_name="consent_withdrawal")
    op.drop_table("consent_withdrawal")
    op.drop_index("ix_consent_phone_key", table_name="consent")
    op.drop_table("consent")
