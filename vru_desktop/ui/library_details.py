"""The Library's right-hand panel: the selected video's details, or the project's when none is selected."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser, QWidget

from vru_desktop.library.views import ProjectView, project_view, video_details
from vru_desktop.settings import USER_DEFAULT_PROJECT, get_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import VideoStatus
from vru_desktop.ui.library_model import human_duration, human_size


def _details_table(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><th align='left' valign='top'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<h3>{html.escape(title)}</h3><table cellspacing='4'>{body}</table>"


class DetailsPanel(QTextBrowser):
    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.setObjectName("videoDetails")
        self.setAcceptDrops(False)  # drops go to the window, which imports them
        self.setOpenLinks(False)

    def show_selection(self, video_ids: list[int], project_id: int | None) -> None:
        """The details of the one video selected, a count of several, or ``project_id``'s details."""
        if len(video_ids) > 1:
            self.setHtml(f"<p>{len(video_ids)} videos selected</p>")
            return
        if not video_ids:
            if project_id is not None:
                self.setHtml(self._project_details(project_view(self.db, project_id)))
            return
        video = video_details(self.db, video_ids[0])
        if video is None:
            return
        rows = [
            ("File", video.file_path),
            ("Kind", video.kind.replace("_", " ")),
            ("Duration", human_duration(video.duration)),
            ("Frame rate", f"{video.fps:g} fps"),
            ("Frames", str(video.frame_count)),
            ("Resolution", video.resolution),
            ("Codec", video.codec),
            ("Start time", f"{video.start_time:g} s"),
            ("Size", human_size(video.file_size)),
            ("Status", video.status),
            ("Processing", video.processing_status),
            ("Metadata from", video.metadata_source),
            ("Imported", video.imported_at.strftime("%Y-%m-%d %H:%M")),
            ("Fingerprint", video.fingerprint[:16] + "…"),
        ]
        text = _details_table(video.filename, rows)
        if video.status == VideoStatus.MISSING:
            text += "<p><b>The file is missing.</b> Use Video → Relink to find it again.</p>"
        self.setHtml(text)

    def _project_details(self, project: ProjectView) -> str:
        rows = [
            ("Camera model", project.camera_model),
            ("Camera view", project.camera_view),
            ("Lens type", project.lens_type or "–"),
            ("Resolution", project.resolution or "–"),
            ("Frame rate", f"{project.frame_rate:g} fps" if project.frame_rate else "–"),
            ("Signal type", project.signal_type),
            ("Status", project.status),
            ("VRU classes", ", ".join(project.vru_classes)),
        ]
        if project.is_default:
            rows.append(("", "system default project"))
        if project.id == get_setting(self.db, USER_DEFAULT_PROJECT):
            rows.append(("", "my default project"))
        text = _details_table(project.name, rows)
        return text + (f"<p>{html.escape(project.description)}</p>" if project.description else "")
