"""Companies as objects with members: ``company`` and ``company_member``; ``campaign.company`` refers to one.

Why: a company was only a name on each campaign and DNC row, so a manager
could create a campaign naming any company and, through it, reach that
company's DNC list (a removal reopened its leads). Now a user belongs to
companies and reaches only theirs.

An upgraded store behaves as before: every company name found in
``campaign``, ``dnc_entry`` and ``dnc_registry`` (and ``default``, the
company of a fresh store) becomes a company; every user becomes a member of
the companies of the campaigns they are granted, and admins and analysts
(who saw every campaign) of every company.

Revision ID: 0012
Revises: 0013
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0013"
branch_labels = None
depends_on = None

_NAMES = ("SELECT company AS name FROM campaign UNION SELECT company FROM dnc_entry "
          "UNION SELECT company FROM dnc_registry UNION SELECT 'default'")


def upgrade() -> None:
    op.create_table(
        "company",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=120), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "company_member",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), primary_key=True),
        sa.Column("company_id", sa.Integer(), sa.ForeignKey("company.id"), primary_key=True),
    )
    now = sa.bindparam("now", datetime.now(UTC).replace(tzinfo=None), type_=sa.DateTime())
    op.execute(sa.text(f"INSERT INTO company (name, created_at) SELECT names.name, :now FROM ({_NAMES}) AS names")
               .bindparams(now))
    op.execute("INSERT INTO company_member (user_id, company_id) "
               "SELECT DISTINCT g.user_id, co.id FROM campaign_grant g JOIN campaign c ON c.id = g.campaign_id "
               "JOIN company co ON co.name = c.company JOIN app_user u ON u.id = g.user_id "
               "WHERE u.role NOT IN ('admin', 'analyst')")
    op.execute("INSERT INTO company_member (user_id, company_id) "
               "SELECT u.id, co.id FROM app_user u CROSS JOIN company co WHERE u.role IN ('admin', 'analyst')")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_campaign_company", "company", ["company"], ["name"])


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_constraint("fk_campaign_company", type_="foreignkey")
    op.drop_table("company_member")
    op.drop_table("company")
