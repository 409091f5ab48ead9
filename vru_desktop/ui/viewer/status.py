"""The line under the picture: the video's name, the frame's position and review state, the decoding
hint and the viewer's messages (each goes away after :data:`STATUS_CLEAR_MS` or with its ✕)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

#: A message in the viewer's status line goes away after this long (or with its ✕ button).
STATUS_CLEAR_MS = 10_000
_BADGE_STYLE = "QLabel {{ background: {}; color: white; padding: 1px 8px; border-radius: 8px; }}"


class ViewerStatusBar(QWidget):
    """Under the picture, where a narrow window's toolbar cannot push it out of sight. ``extra``: widgets
    shown after the review badge (the condition tags)."""

    def __init__(self, extra: list[QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gt_badge = QLabel()
        self.gt_badge.setObjectName("groundTruthBadge")
        self.name_label = QLabel()
        self.name_label.setObjectName("videoNameLabel")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.position_label = QLabel("–")
        self.position_label.setObjectName("positionLabel")
        self.status_label = QLabel()
        self.status_label.setObjectName("viewerStatus")
        self.status_clear = QToolButton()
        self.status_clear.setObjectName("viewerStatusClear")
        self.status_clear.setText("✕")
        self.status_clear.setToolTip("Clear this message")
        self.status_clear.setAutoRaise(True)
        self.status_clear.clicked.connect(self.clear_status)
        self.status_clear.hide()
        self._status_timer = QTimer(self, singleShot=True, interval=STATUS_CLEAR_MS)
        self._status_timer.timeout.connect(self.clear_status)
        self.decoding_label = QLabel()
        self.decoding_label.setObjectName("decodingHint")
        self.decoding_label.setEnabled(False)  # drawn greyed: a hint, not a message
        self.decoding_label.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.name_label, self.position_label, self.gt_badge, *extra, self.decoding_label):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.status_clear)

    def show_video(self, filename: str, path: Path) -> None:
        self.name_label.setText(f"<b>{html.escape(filename)}</b>")
        self.name_label.setToolTip(str(path))

    def show_position(self, text: str) -> None:
        self.position_label.setText(text)

    def show_ground_truth_state(self, frame: int, reviewed: bool) -> None:
        """The badge that says whether this frame's validated boxes count as ground truth."""
        if reviewed:
            text, color = f"Frame {frame} · reviewed — counts as ground truth", "#2e7d32"
            tip = "Validated boxes on this frame are ground truth. F marks it not reviewed."
        else:
            text, color = f"Frame {frame} · not reviewed — not ground truth", "#b35c00"
            tip = "Boxes on this frame do not count as ground truth until it is reviewed (F)."
        self.gt_badge.setText(text)
        self.gt_badge.setToolTip(tip)
        self.gt_badge.setStyleSheet(_BADGE_STYLE.format(color))

    def show_decoding(self, text: str) -> None:
        """The greyed "decoding…" hint; empty hides it."""
        self.decoding_label.setText(text)
        self.decoding_label.setVisible(bool(text))

    def show_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_clear.setVisible(bool(text))
        self._status_timer.start()

    def clear_status(self) -> None:
        self._status_timer.stop()
        self.status_label.clear()
        self.status_clear.hide()

    def clear(self) -> None:
        """No video open."""
        self.name_label.clear()
        self.gt_badge.clear()
        self.clear_status()
