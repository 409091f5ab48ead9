"""The evaluation's Tag list: score only the reviewed frames carrying one of the run's project's
condition tags."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QComboBox, QWidget

from vru_desktop.annotations.tags import vocabulary_of_videos
from vru_desktop.detection.runs import RunRow
from vru_desktop.store.db import Database

ALL_FRAMES = "(all reviewed frames)"


class TagChoice(QComboBox):
    """``current()`` is the chosen tag, or None for every reviewed frame."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self._run_videos: dict[int, int] = {}
        self.setToolTip("Score only the reviewed frames carrying this condition tag")
        self.addItem(ALL_FRAMES, None)

    def current(self) -> str | None:
        return self.currentData()

    def set_runs(self, rows: Iterable[RunRow]) -> None:
        self._run_videos = {r.id: r.video_id for r in rows}

    def fill(self, run_id: int | None) -> None:
        """The condition tags of the run's project, keeping the current one where it is offered."""
        current = self.current()
        video_id = self._run_videos.get(run_id) if run_id is not None else None
        tags = vocabulary_of_videos(self.db, [video_id]) if video_id is not None else []
        self.blockSignals(True)
        self.clear()
        self.addItem(ALL_FRAMES, None)
        for tag in tags:
            self.addItem(tag, tag)
        self.setCurrentIndex(max(self.findData(current), 0))
        self.setEnabled(bool(tags))
        self.blockSignals(False)
