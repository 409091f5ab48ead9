"""Typed errors. Every message tells a person what was wrong and what to do.

The UI shows ``str(error)``; the CLI prints it and exits non-zero. A user mistake never surfaces as
a raw traceback.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with its control characters escaped (a newline in a file name shows as ``\\n``)."""
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


class Cancelled(VruError):
    """Long work was cancelled by the user; whatever it had started was rolled back."""
