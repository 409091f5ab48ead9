"""The page shown instead of the picture when the video's file cannot be opened, with Relink."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from vru_desktop.errors import VruError
from vru_desktop.library.views import OpenVideo
from vru_desktop.store.db import Database


class MissingPage(QWidget):
    """``relinked(video_id)`` once the library points at the video's new place."""

    relinked = Signal(int)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.video: OpenVideo | None = None
        self.missing_label = QLabel()
        self.missing_label.setObjectName("missingLabel")
        self.missing_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.missing_label.setWordWrap(True)
        self.relink_button = QPushButton("Relink…")
        self.relink_button.setObjectName("relinkButton")
        self.relink_button.clicked.connect(self.relink)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.missing_label)
        layout.addWidget(self.relink_button, alignment=Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)

    def show_video(self, video: OpenVideo, detail: str | None = None) -> None:
        """Say why ``video`` cannot be opened (``detail``, else: its file is not found)."""
        self.video = video
        text = detail or f"{video.path}: file not found."
        self.missing_label.setText(
            f"<b>{video.filename}</b> cannot be opened.<br>{text}<br>"
            "If it was moved or renamed, use Relink to point the library at its new place."
        )

    def ask_relink_path(self) -> str:
        assert self.video is not None
        if self.video.kind == "image_sequence":
            return QFileDialog.getExistingDirectory(self, f"Find the frames of {self.video.filename}")
        path, _ = QFileDialog.getOpenFileName(self, f"Find {self.video.filename}")
        return path

    def relink(self) -> None:
        from vru_desktop.library.importer import relink

        if self.video is None:
            return
        video_id = self.video.id
        path = self.ask_relink_path()
        if not path:
            return
        try:
            relink(self.db, video_id, path)
        except VruError as exc:
            self.missing_label.setText(f"<b>Relink failed.</b><br>{exc}")
            return
        self.relinked.emit(video_id)
