"""An event-loop stall probe: a 10 ms QTimer records the gaps between its ticks while work runs."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PySide6.QtCore import QTimer

#: The stall a person notices; a busy CI machine stretches a 10 ms timer tick well past 50 ms.
STALL_LIMIT_S = 0.1


@contextmanager
def stall_probe() -> Iterator[Callable[[], float]]:
    """Ticks every 10 ms inside the block; yields a function giving the longest gap (seconds) so far,
    counting the time since the last tick."""
    ticks = [time.perf_counter()]
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()

    def longest() -> float:
        return max(b - a for a, b in itertools.pairwise([*ticks, time.perf_counter()]))

    try:
        yield longest
    finally:
        timer.stop()
