"""The viewer: exact frames, playback, the annotation overlay and its editing, the timeline.

Importing this package guards against a reference-counting defect of the PySide6 build in use on
Python 3.11: every call of a C++ method returning ``void`` gives back ``None`` without taking a
reference to it, so ``None``'s count falls by one per call and the process aborts ("none_dealloc")
after a few thousand calls — seconds of playback. Python 3.12 made ``None`` immortal, which is why
the bindings no longer count it. :func:`protect_none` detects the leak and, only when present, lifts
``None``'s count far out of reach.
"""

from __future__ import annotations

import ctypes
import sys

_LIFT = 1 << 50


def protect_none() -> bool:
    """Make ``None`` safe from bindings that drop references to it. Returns whether it was needed."""
    if sys.version_info >= (3, 12):  # None is immortal
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")  # a void method
    lost = before - sys.getrefcount(None)
    if lost < 64:
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += _LIFT
    return True


protect_none()
