"""Projects gain the reviewed-frame coverage a video needs for its ground truth to count

Readiness used to count a video as having ground truth with a single reviewed frame. Each project now
says which share of a video's frames must be reviewed (0.9 unless changed).

Revision ID: 0004_review_coverage
Revises: 0002_covering_indexes
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_review_coverage"
down_revision = "0003_annotation_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch_op:
        batch_op.add_column(sa.Column("gt_coverage", sa.Float(), nullable=False, server_default="0.9"))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch_op:
        batch_op.drop_column("gt_coverage")
