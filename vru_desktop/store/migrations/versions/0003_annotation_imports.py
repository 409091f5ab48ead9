"""Annotation imports as records

Each annotation import is remembered (source, content fingerprint, time, counts per video) so that
importing the same content twice is refused instead of doubling the boxes, and an import can be
listed and removed as a unit. Annotations point at the import that brought them in.

Revision ID: 0003_annotation_imports
Revises: 0002_covering_indexes
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_annotation_imports"
down_revision = "0002_covering_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annotation_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=30), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("ground_truth", sa.Boolean(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "annotation_import_videos",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("boxes", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("tracks", sa.Integer(), nullable=False),
        sa.Column("crowd", sa.Integer(), nullable=False),
        sa.Column("reviewed", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["annotation_imports.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("import_id", "video_id"),
    )
    op.create_index(
        "ix_annotation_import_videos_video_fingerprint",
        "annotation_import_videos",
        ["video_id", "fingerprint"],
        unique=False,
    )
    with op.batch_alter_table("annotations") as batch_op:
        batch_op.add_column(sa.Column("import_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_annotations_import_id", ["import_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_annotations_import_id", "annotation_imports", ["import_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("annotations") as batch_op:
        batch_op.drop_constraint("fk_annotations_import_id", type_="foreignkey")
        batch_op.drop_index("ix_annotations_import_id")
        batch_op.drop_column("import_id")
    op.drop_index("ix_annotation_import_videos_video_fingerprint", table_name="annotation_import_videos")
    op.drop_table("annotation_import_videos")
    op.drop_table("annotation_imports")
