"""Team store: who created and changed things, and file sizes over 2 GiB on a server

Annotations, review marks, annotation imports and runs record the user who wrote them (the
connection's role on a PostgreSQL server, the operating-system user on a SQLite file); rows from
before this migration have none. On PostgreSQL ``videos.file_size`` becomes 64-bit (SQLite's INTEGER
already is).

Revision ID: 0006_team
Revises: 0003_annotation_imports
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_team"
down_revision = "0003_annotation_imports"
branch_labels = None
depends_on = None

#: Table → the user columns it gains.
USER_COLUMNS = {
    "annotations": ("created_by", "updated_by"),
    "reviewed_frames": ("created_by",),
    "annotation_imports": ("created_by",),
    "test_sessions": ("created_by",),
}


def upgrade() -> None:
    for table, columns in USER_COLUMNS.items():
        for column in columns:
            op.add_column(table, sa.Column(column, sa.String(length=100), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("videos", "file_size", type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("videos", "file_size", type_=sa.Integer(), existing_nullable=False)
    for table, columns in USER_COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_column(column)
