"""Condition tags

A project's vocabulary of condition tags (day, night, rain …), tags on whole videos and tags on
single frames. On PostgreSQL the rows of a restricted project are hidden as its videos are.

Revision ID: 0008_condition_tags
Revises: 0007_campaigns
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_condition_tags"
down_revision = "0007_campaigns"
branch_labels = None
depends_on = None

#: Table → the SQL that says whether the current role may see a row of it (see 0006_team).
VISIBLE = {
    "condition_tags": "project_id NOT IN (SELECT * FROM vru_hidden_projects())",
    "video_tags": "video_id NOT IN (SELECT * FROM vru_hidden_videos())",
    "frame_tags": "video_id NOT IN (SELECT * FROM vru_hidden_videos())",
}


def upgrade() -> None:
    op.create_table(
        "condition_tags",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "name"),
    )
    op.create_table(
        "video_tags",
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("video_id", "tag"),
    )
    op.create_table(
        "frame_tags",
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("frame_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("video_id", "tag", "frame_number"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table, visible in VISIBLE.items():
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY members_only ON {table} USING ({visible}) WITH CHECK ({visible})")


def downgrade() -> None:
    for table in reversed(VISIBLE):
        op.drop_table(table)
