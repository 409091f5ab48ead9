"""Keeping the timeline's summary in step with the open video.

The summary is computed in full off the UI thread when a video opens or the detection run changes;
after an edit only the frames the editor reports are read again (edits made while a full summary is
computed are applied to it when it arrives).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.annotations.views import TimelineSummary
from vru_desktop.jobs.operations import Operations, Task
from vru_desktop.ui.viewer.timeline import TimelineWidget


class TimelineSync(QObject):
    """Feeds ``timeline`` its summary; ``failed(message)`` when it cannot be read."""

    failed = Signal(str)

    def __init__(self, timeline: TimelineWidget, parent: QObject) -> None:
        super().__init__(parent)
        self.timeline = timeline
        self._ops = Operations(self)
        self._editor: AnnotationEditor | None = None
        self._summary: TimelineSummary | None = None
        self._ticket: Task | None = None
        self._edited_frames: set[int] = set()
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._apply_edits)

    def summary(self) -> TimelineSummary | None:
        """The summary the timeline draws (``None`` until the first one has been computed)."""
        return self._summary

    def refresh(self, editor: AnnotationEditor, session_id: int | None) -> None:
        """Compute the whole summary of ``editor``'s video with ``session_id``'s detections."""
        self._editor = editor
        self._edited_frames = set()
        self._ticket = self._ops.run(
            lambda _task: editor.timeline_summary(session_id),
            on_success=self._on_summary,
            on_failure=self._on_failed,
            newest="summary",
        )

    def edited(self, frames: set[int]) -> None:
        """``frames`` were edited: read them again soon (or once the full summary arrives)."""
        self._edited_frames |= frames
        if self._ticket is None:
            self._timer.start()

    def clear(self) -> None:
        """No video open: nothing computing, nothing to apply."""
        self._ops.cancel("summary")
        self._timer.stop()
        self._editor = self._summary = self._ticket = None
        self._edited_frames = set()

    def _on_summary(self, summary: object) -> None:
        if self._editor is None:
            return
        assert isinstance(summary, TimelineSummary)
        self._ticket = None
        frames, self._edited_frames = self._edited_frames, set()
        self._summary = self._editor.update_summary(summary, frames)  # edits made while it was computed
        self.timeline.set_summary(self._summary)

    def _on_failed(self, message: str) -> None:
        self._ticket = None
        self.failed.emit(f"The timeline could not be read: {message}")

    def _apply_edits(self) -> None:
        """Read again only the frames edited since the summary was made."""
        if self._editor is None or self._summary is None or self._ticket is not None:
            return  # a full summary is on its way; it takes the edited frames when it arrives
        if not self._edited_frames:
            return
        frames, self._edited_frames = self._edited_frames, set()
        self._summary = self._editor.update_summary(self._summary, frames)
        self.timeline.set_summary(self._summary)
