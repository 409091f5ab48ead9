"""Team server subcommands: ``db copy --to URL`` moves this library to a server; ``members``
restricts a project to some of the team's database roles."""

from __future__ import annotations

import argparse
from typing import Any

from vru_desktop.cli.common import Context, print_json
from vru_desktop.library.projects import project_by_name, project_members, set_project_members
from vru_desktop.store.copy import copy_database
from vru_desktop.store.db import open_database
from vru_desktop.store.server import display_url, is_server_url


def register(subparsers: Any) -> None:
    db = subparsers.add_parser("db", help="database tasks: copy the library to a team server")
    commands = db.add_subparsers(dest="db_command", metavar="<db command>", required=True)
    p = commands.add_parser(
        "copy",
        help="copy this library (the --database or the data folder's file) into another database; "
        "safe to run again, resumes after an interruption",
    )
    p.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://USER@HOST:PORT/DB, or a file path"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_copy)

    p = subparsers.add_parser("members", help="show or set which database roles may see a project")
    p.add_argument("project", metavar="NAME")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--only", nargs="+", metavar="ROLE", help="restrict the project to these roles")
    group.add_argument("--open", action="store_true", help="let every role see the project again")
    p.set_defaults(handler=cmd_members)


def cmd_copy(args: argparse.Namespace, context: Context) -> int:
    target = open_database(args.to)
    try:
        report = copy_database(context.db, target)
    finally:
        target.close()
    if args.json:
        print_json(
            {"to": display_url(args.to) if is_server_url(args.to) else args.to, "tables": report.tables}
        )
    else:
        print("\n".join(report.lines()))
        print(f"ok: {report.copied} rows copied, every table's count matches")
    return 0


def cmd_members(args: argparse.Namespace, context: Context) -> int:
    project = project_by_name(context.db, args.project)
    if args.only or args.open:
        set_project_members(context.db, project.id, None if args.open else args.only)
    members = project_members(context.db, project.id)
    print(f"{project.name}: " + ("open to every role" if members is None else "only " + ", ".join(members)))
    return 0
