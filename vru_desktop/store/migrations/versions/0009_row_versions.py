"""Row versions and the change log of a team's shared videos

``annotations.version`` is raised by every write: an edit changes a box only where it still has the
version the editor read, so two people editing one video never lose a change silently.
``video_changes`` logs each committed change of a video's boxes and review marks (frames, who), so
open viewers elsewhere refresh. On PostgreSQL its rows are hidden as their videos are.

Revision ID: 0009_row_versions
Revises: 0008_condition_tags
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_row_versions"
down_revision = "0008_condition_tags"
branch_labels = None
depends_on = None

#: The SQL that says whether the current role may see a change (see 0006_team).
VISIBLE = "video_id NOT IN (SELECT * FROM vru_hidden_videos())"


def upgrade() -> None:
    op.add_column("annotations", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "video_changes",
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("first_frame", sa.Integer(), nullable=True),
        sa.Column("last_frame", sa.Integer(), nullable=True),
        sa.Column("changed_by", sa.String(length=100), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("video_id", "seq"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE video_changes ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY members_only ON video_changes USING ({VISIBLE}) WITH CHECK ({VISIBLE})")


def downgrade() -> None:
    op.drop_table("video_changes")
    with op.batch_alter_table("annotations") as batch_op:
        batch_op.drop_column("version")
