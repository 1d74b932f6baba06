"""Call quality: versioned scorecards per campaign, the scores supervisors give calls, each criterion's answer;
and mentoring: a trainee flag and an assigned mentor on accounts.

Why versions, not edits: a score keeps the criteria and weights it was given
under (``lists.quality``). Why the mentor on the account: a trainee works
under one mentor across campaigns.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scorecard",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.UniqueConstraint("campaign_id", "version", name="uq_scorecard_version"),
    )
    op.create_table(
        "scorecard_criterion",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scorecard_id", sa.Integer(), sa.ForeignKey("scorecard.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("scorecard_id", "code", name="uq_scorecard_criterion_code"),
    )
    op.create_table(
        "quality_score",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("attempt_id", sa.Integer(), sa.ForeignKey("attempt.id"), nullable=False),
        sa.Column("scorecard_id", sa.Integer(), sa.ForeignKey("scorecard.id"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("scorer_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("critical_failed", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.String(1000), nullable=True),
        sa.UniqueConstraint("attempt_id", "scorer_id", name="uq_quality_score_scorer"),
    )
    op.create_index("ix_quality_score_campaign_agent", "quality_score", ["campaign_id", "agent"])
    op.create_table(
        "quality_answer",
        sa.Column("score_id", sa.Integer(), sa.ForeignKey("quality_score.id"), primary_key=True),
        sa.Column("criterion_id", sa.Integer(), sa.ForeignKey("scorecard_criterion.id"), primary_key=True),
        sa.Column("value", sa.Float(), nullable=True),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trainee", sa.Boolean(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("mentor_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_app_user_mentor", "app_user", ["mentor_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint("fk_app_user_mentor", type_="foreignkey")
        batch_op.drop_column("mentor_id")
        batch_op.drop_column("trainee")
    op.drop_table("quality_answer")
    op.drop_index("ix_quality_score_campaign_agent", table_name="quality_score")
    op.drop_table("quality_score")
    op.drop_table("scorecard_criterion")
    op.drop_table("scorecard")
