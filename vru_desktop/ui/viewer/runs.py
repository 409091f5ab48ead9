"""The detection run whose detections the viewer shows (the toolbar's run list), and the live updates
of a run writing detections for the open video."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QComboBox

from vru_desktop.annotations.editor import AnnotationEditor

#: Live detection refreshes during a run are throttled to this interval.
DETECTION_REFRESH_MS = 500


class RunChoice(QObject):
    """``session_id``: the run shown (``None``: none). ``chosen()`` when another run is chosen;
    ``detectionsWritten()`` (throttled) when the run shown wrote detections."""

    chosen = Signal()
    detectionsWritten = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.session_id: int | None = None
        self.combo = QComboBox()
        self.combo.setObjectName("runCombo")
        self.combo.setToolTip("Detection run shown")
        self.combo.setMinimumContentsLength(16)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.currentIndexChanged.connect(self._on_chosen)
        self._timer = QTimer(self, singleShot=True, interval=DETECTION_REFRESH_MS)
        self._timer.timeout.connect(self.detectionsWritten)

    def load(self, editor: AnnotationEditor) -> None:
        """List the runs of ``editor``'s video, keeping the run shown where it has one."""
        keep = self.session_id
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem("No detection run", None)
        for run in editor.sessions():
            self.combo.addItem(f"{run.label} ({run.status})", run.id)
        position = self.combo.findData(keep) if keep is not None else -1
        self.combo.setCurrentIndex(position if position >= 0 else min(1, self.combo.count() - 1))
        self.combo.blockSignals(False)
        self.session_id = self.combo.currentData()

    def _on_chosen(self, _index: int) -> None:
        self.session_id = self.combo.currentData()
        self.chosen.emit()

    def choose(self, session_id: int | None) -> None:
        position = self.combo.findData(session_id)
        if position >= 0:
            self.combo.setCurrentIndex(position)

    def on_detections(self, editor: AnnotationEditor, session_id: int) -> None:
        """Run ``session_id`` wrote detections of ``editor``'s video: list it, and tell (throttled)
        when it is the run shown."""
        if self.combo.findData(session_id) < 0:
            self.load(editor)
            if self.session_id is None:
                self.choose(session_id)
        if session_id == self.session_id and not self._timer.isActive():
            self._timer.start()
