"""File names that are not valid UTF-8.

On Linux a file name is bytes; Python shows bytes that are not UTF-8 as lone surrogates
(``os.fsdecode``). Such a path opens fine but cannot go into SQLite's UTF-8 text or be printed
as it is: it is stored in a reversible form and shown with its odd bytes escaped (``caf\\xe9.mp4``,
:func:`vru_desktop.errors.one_line`).
"""

from __future__ import annotations

import os
from urllib.parse import quote_from_bytes, unquote_to_bytes

_FS_BYTES = "fsbytes:"


def path_to_db(path: str) -> str:
    """``path`` as stored: itself, or where it is not UTF-8 its bytes percent-encoded after ``fsbytes:``.

    Stored paths are absolute, so no real one starts with ``fsbytes:``.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return _FS_BYTES + quote_from_bytes(os.fsencode(path), safe="/")
    return path


def path_from_db(text: str) -> str:
    """The path :func:`path_to_db` stored as ``text``."""
    if text.startswith(_FS_BYTES):
        return os.fsdecode(unquote_to_bytes(text[len(_FS_BYTES) :]))
    return text
