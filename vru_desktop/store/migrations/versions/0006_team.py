"""Team store: who created and changed things, projects restricted to their members

Annotations, review marks, annotation imports and runs record the user who wrote them (the
connection's role on a PostgreSQL server, the operating-system user on a SQLite file); rows from
before this migration have none. A project can be restricted to the roles in ``project_members``:
on PostgreSQL row-level security policies hide and protect its videos and everything on them from
every other role (the tables' owner, the team's administrator, is not bound by them). On PostgreSQL
``videos.file_size`` becomes 64-bit (SQLite's INTEGER already is).

Revision ID: 0006_team
Revises: 0003_annotation_imports
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_team"
down_revision = "0005_box_visibility"
branch_labels = None
depends_on = None

#: Table → the user columns it gains.
USER_COLUMNS = {
    "annotations": ("created_by", "updated_by"),
    "reviewed_frames": ("created_by",),
    "annotation_imports": ("created_by",),
    "test_sessions": ("created_by",),
}


#: Table → the SQL that says whether the current role may see a row of it. Each names the hidden
#: ids through a function without arguments, which PostgreSQL runs once per statement and probes
#: as a hash (a function call per row made reading 200 000 boxes 10 s instead of 60 ms).
VISIBLE = {
    "projects": "id NOT IN (SELECT * FROM vru_hidden_projects())",
    "videos": "project_id IS NULL OR project_id NOT IN (SELECT * FROM vru_hidden_projects())",
    "frame_index": "video_id NOT IN (SELECT * FROM vru_hidden_videos())",
    "reviewed_frames": "video_id NOT IN (SELECT * FROM vru_hidden_videos())",
    "test_sessions": "video_id NOT IN (SELECT * FROM vru_hidden_videos())",
    "detection_events": "video_id NOT IN (SELECT * FROM vru_hidden_videos())",
    "annotations": "video_id NOT IN (SELECT * FROM vru_hidden_videos())",
    "annotation_import_videos": "video_id NOT IN (SELECT * FROM vru_hidden_videos())",
    "device_events": "video_id NOT IN (SELECT * FROM vru_hidden_videos())",
    "session_statistics": "session_id NOT IN (SELECT * FROM vru_hidden_runs())",
}

# SECURITY DEFINER: the functions read past the policies (no recursion), and judge the role that
# logged in (session_user), not the functions' owner.
FUNCTIONS = {
    "vru_hidden_projects": """
        SELECT p.id FROM projects AS p WHERE p.restricted AND NOT EXISTS (
            SELECT 1 FROM project_members AS m WHERE m.project_id = p.id AND m.member = session_user
        )
    """,
    "vru_hidden_videos": "SELECT id FROM videos WHERE project_id IN (SELECT * FROM vru_hidden_projects())",
    "vru_hidden_runs": "SELECT id FROM test_sessions WHERE video_id IN (SELECT * FROM vru_hidden_videos())",
}


def upgrade() -> None:
    for table, columns in USER_COLUMNS.items():
        for column in columns:
            op.add_column(table, sa.Column(column, sa.String(length=100), nullable=True))
    op.add_column(
        "projects", sa.Column("restricted", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "project_members",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "member"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column("videos", "file_size", type_=sa.BigInteger(), existing_nullable=False)
    for name, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS SETOF integer LANGUAGE sql STABLE SECURITY DEFINER"
            f" SET search_path = public AS $$ {body} $$"
        )
    for table, visible in VISIBLE.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY members_only ON {table} USING ({visible}) WITH CHECK ({visible})")
    # Everyone may read who is a member; only the owner adds or removes members.
    op.execute("ALTER TABLE project_members ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY read_members ON project_members FOR SELECT USING (true)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*VISIBLE, "project_members"):
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        for table in VISIBLE:
            op.execute(f"DROP POLICY members_only ON {table}")
        op.execute("DROP POLICY read_members ON project_members")
        for name in reversed(FUNCTIONS):
            op.execute(f"DROP FUNCTION {name}()")
        op.alter_column("videos", "file_size", type_=sa.Integer(), existing_nullable=False)
    op.drop_table("project_members")
    with op.batch_alter_table("projects") as batch_op:
        batch_op.drop_column("restricted")
    for table, columns in USER_COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_column(column)
