"""Command line: ``vru-desktop [--data-dir DIR] [--database URL] <command>``: no command opens the window.

Each area registers its subcommands from its own module (``cli/library.py`` …). Handlers call the
same core functions as the GUI. Exit codes: 0 success, 1 when any item was refused or failed,
2 for a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from vru_desktop import __version__
from vru_desktop.cli.common import Context
from vru_desktop.errors import UsageError, VruError
from vru_desktop.store.db import database_failure

#: Modules that add subcommands; each has ``register(subparsers)``.
COMMAND_MODULES = (
    "vru_desktop.cli.library",
    "vru_desktop.cli.detection",
    "vru_desktop.cli.datasets",
    "vru_desktop.cli.evaluation",
    "vru_desktop.cli.dataset_manager",
    "vru_desktop.cli.settings",
    "vru_desktop.cli.campaigns",
    "vru_desktop.cli.store",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", hint=f"See '{self.prog} --help'.")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vru-desktop", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--data-dir", help="folder for the database, models and logs (or VRU_DESKTOP_DATA_DIR)"
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="a team server, postgresql://USER@HOST:PORT/DB (or VRU_DESKTOP_DATABASE); "
        "default: the SQLite file in the data folder",
    )
    parser.add_argument("--verbose", action="store_true", help="log to stderr too")
    parser.add_argument("--version", action="version", version=f"vru-desktop {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", parser_class=_Parser)
    gui = subparsers.add_parser("gui", help="open the window (the default)")
    gui.set_defaults(handler=None)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints escaped
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if getattr(args, "handler", None) is None:
        from vru_desktop.ui.app import run_gui

        return run_gui(data_dir=args.data_dir, database=args.database, verbose=args.verbose)
    context: Context | None = None
    try:
        context = Context(args.data_dir, database=args.database, verbose=args.verbose)
        return int(args.handler(args, context) or 0)
    except VruError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except SQLAlchemyError as exc:
        print(f"error: {database_failure(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``vru-desktop videos | head``): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if context is not None:
            context.close()
