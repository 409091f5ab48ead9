"""Per-box visibility, occlusion level, truncation and Caltech-style ignore

Pedestrian-detection protocols (Caltech, CityPersons, KAIST, EuroCity Persons) choose which boxes
count by visibility, occlusion level and truncation, and treat "ignore" boxes as regions that may
absorb detections. The visible part of the box is kept where the source gives one.

Revision ID: 0005_box_visibility
Revises: 0003_annotation_imports
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_box_visibility"
down_revision = "0004_review_coverage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annotations") as batch_op:
        batch_op.add_column(sa.Column("visibility", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("visible_box", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("occlusion", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("truncation", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ignore", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("annotations") as batch_op:
        batch_op.drop_column("ignore")
        batch_op.drop_column("truncation")
        batch_op.drop_column("occlusion")
        batch_op.drop_column("visible_box")
        batch_op.drop_column("visibility")
