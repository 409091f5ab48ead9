"""Typed errors. Every message tells a person what was wrong and what to do.

The UI shows ``str(error)``; the CLI prints it and exits non-zero. A user mistake never surfaces as
a raw traceback.
"""

from __future__ import annotations

import errno
import os
import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str | os.PathLike[str]) -> str:
    """``text`` for one line of output: control characters escaped (a newline in a file name shows as
    ``\\n``), and the bytes of a file name that are not UTF-8 as ``\\xe9``."""
    text = os.fspath(text)
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


class VruError(Exception):
    """Base class of every error the application reports to a person.

    The message and hint are kept on one line whatever paths or values they show.
    """

    #: Exit status the CLI uses for this kind of error.
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = one_line(message)
        hint = None if hint is None else one_line(hint)
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} {hint}")


class UsageError(VruError):
    """The command or its arguments were wrong."""

    exit_code = 2


class NotFoundError(VruError):
    """A project, video, run or file that was asked for does not exist."""


class ValidationError(VruError):
    """A value entered by the user is not acceptable (missing required field, out of range)."""


class DuplicateError(VruError):
    """The thing already exists (same name, same file content)."""


class MediaError(VruError):
    """A video or image file cannot be read or decoded."""


class FormatError(VruError):
    """An annotation or dataset file is malformed. The message names the file and the place."""


class ModelError(VruError):
    """A detector model cannot be found, loaded or run."""


class StoreError(VruError):
    """The database cannot be opened or migrated."""


class ConflictError(VruError):
    """Someone else changed or deleted what an edit was about to change since it was read; nothing
    of the edit was written. ``conflicts`` says what they did (views for the UI)."""

    def __init__(self, message: str, *, hint: str | None = None, conflicts: tuple[object, ...] = ()) -> None:
        super().__init__(message, hint=hint)
        self.conflicts = conflicts


class ClusterError(VruError):
    """The cluster chosen for detection cannot be reached, or cannot place or keep a run's work."""


class Cancelled(VruError):
    """Long work was cancelled by the user; whatever it had started was rolled back."""


class WriteError(VruError):
    """A file or folder cannot be written: the disk is full, read-only, or not the user's to write."""


def write_error(exc: OSError, target: str | os.PathLike[str]) -> WriteError:
    """The one-line error for ``exc`` met while writing ``target``, whose partial output was removed."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return WriteError(
            f"The disk holding {target} is full; nothing was written there.",
            hint="Free some space and try again.",
        )
    return WriteError(
        f"Cannot write {target}: {exc.strerror or exc}; nothing was written there.",
        hint="Choose another place, or check that it is writable.",
    )
