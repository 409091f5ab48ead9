"""Campaigns

A campaign is a frozen video set (each video's fingerprint and reviewed-frame count at creation),
one model configuration, the protocols to score and optional requirements. Its runs are ordinary
runs; a campaign video points at its run, and deleting the campaign leaves the run.

Revision ID: 0007_campaigns
Revises: 0003_annotation_imports
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_campaigns"
down_revision = "0006_team"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("protocols", sa.JSON(), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["detector_models.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "campaign_videos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("reviewed_frames", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("reused", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["session_id"], ["test_sessions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "position", name="uq_campaign_videos_position"),
    )
    for column in ("campaign_id", "video_id", "session_id"):
        op.create_index(f"ix_campaign_videos_{column}", "campaign_videos", [column], unique=False)


def downgrade() -> None:
    for column in ("campaign_id", "video_id", "session_id"):
        op.drop_index(f"ix_campaign_videos_{column}", table_name="campaign_videos")
    op.drop_table("campaign_videos")
    op.drop_table("campaigns")
