"""Reading a file a person named: the true reason when it cannot be read, its text in its encoding."""

from __future__ import annotations

import codecs
import configparser
import errno
import stat
from pathlib import Path

from vru_desktop.errors import VruError

#: Byte-order marks and the codec that reads (and drops) each; UTF-32's come first, as UTF-32 LE's
#: begins with UTF-16 LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_NOT_REGULAR = (
    (stat.S_ISFIFO, "a pipe (FIFO)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_regular_file(path: Path, error: type[VruError]) -> int:
    """Raise ``error`` saying why ``path`` is no readable regular file; return its size in bytes."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"{path}: file not found.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"{path}: a loop of symbolic links (a link that leads back to itself).") from None
        raise error(f"{path}: cannot be read ({exc.strerror}).") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: a folder, not a file.")
    for test, kind in _NOT_REGULAR:
        if test(info.st_mode):
            raise error(f"{path}: {kind}, not a regular file.")
    return info.st_size


def read_text(path: Path, error: type[VruError]) -> str:
    """The text of a regular file: UTF-8, or UTF-16/32 with a byte-order mark; else ``error``."""
    check_regular_file(path, error)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror}).") from None
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    hint = "Save it as UTF-8 (or UTF-16 with a byte-order mark)."
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: not {codec.upper().removesuffix('-SIG')} text (byte {exc.start} is "
            f"0x{data[exc.start]:02x}).",
            hint=hint,
        ) from None
    if "\x00" in text:
        raise error(f"{path}: holds NUL characters (UTF-16 without a byte-order mark?).", hint=hint)
    return text


def read_ini(path: Path, parser: configparser.ConfigParser, error: type[VruError]) -> None:
    """Read an INI file (``seqinfo.ini``) into ``parser``; a syntax error names its line, not its text."""
    try:
        parser.read_string(read_text(path, error), source=str(path))
    except configparser.Error as exc:
        errors = getattr(exc, "errors", None)
        line = getattr(exc, "lineno", None) or (errors[0][0] if errors else None)
        raise error(f"{path}: not a valid INI file{f' at line {line}' if line else ''}.") from None
