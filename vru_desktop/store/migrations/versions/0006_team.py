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


#: Table → the SQL that says whether the current role may see a row of it.
VISIBLE = {
    "projects": "vru_may_see_project(id)",
    "videos": "vru_may_see_project(project_id)",
    "frame_index": "vru_may_see_video(video_id)",
    "reviewed_frames": "vru_may_see_video(video_id)",
    "test_sessions": "vru_may_see_video(video_id)",
    "detection_events": "vru_may_see_video(video_id)",
    "annotations": "vru_may_see_video(video_id)",
    "annotation_import_videos": "vru_may_see_video(video_id)",
    "device_events": "vru_may_see_video(video_id)",
    "session_statistics": "vru_may_see_run(session_id)",
}

# SECURITY DEFINER: the functions read projects and videos past the policies (no recursion), and
# judge the role that logged in (session_user), not the functions' owner.
FUNCTIONS = (
    """
    CREATE FUNCTION vru_may_see_project(project integer) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
        SELECT project IS NULL
            OR NOT EXISTS (SELECT 1 FROM projects WHERE id = project AND restricted)
            OR EXISTS (SELECT 1 FROM project_members WHERE project_id = project AND member = session_user)
    $$
    """,
    """
    CREATE FUNCTION vru_may_see_video(video integer) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
        SELECT vru_may_see_project((SELECT project_id FROM videos WHERE id = video))
    $$
    """,
    """
    CREATE FUNCTION vru_may_see_run(run integer) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
        SELECT vru_may_see_video((SELECT video_id FROM test_sessions WHERE id = run))
    $$
    """,
)


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
    for function in FUNCTIONS:
        op.execute(function)
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
        op.execute("DROP FUNCTION vru_may_see_run(integer)")
        op.execute("DROP FUNCTION vru_may_see_video(integer)")
        op.execute("DROP FUNCTION vru_may_see_project(integer)")
        op.alter_column("videos", "file_size", type_=sa.Integer(), existing_nullable=False)
    op.drop_table("project_members")
    with op.batch_alter_table("projects") as batch_op:
        batch_op.drop_column("restricted")
    for table, columns in USER_COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_column(column)
