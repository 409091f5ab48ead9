"""The condition tags of the open video's current frame: shown under the picture, put on or taken off
with the Tags menu (key Shift+T), offered from the project's tag list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMenu, QToolButton

from vru_desktop.annotations.tags import VideoTags, project_tags, tag_frames, video_tags
from vru_desktop.errors import VruError

if TYPE_CHECKING:
    from vru_desktop.ui.viewer.workspace import ViewerWorkspace


class FrameTags(QObject):
    """``tags``: the open video's condition tags; ``project_tags``: those its project offers."""

    def __init__(self, viewer: ViewerWorkspace) -> None:
        super().__init__(viewer)
        self.viewer = viewer
        self.tags = VideoTags([], {})
        self.project_tags: list[str] = []
        self.tags_label = QLabel()
        self.tags_label.setObjectName("frameTagsLabel")
        self.tags_menu = QMenu("Condition &Tags", viewer)
        self.tags_menu.setObjectName("frameTagsMenu")
        self.tags_menu.aboutToShow.connect(self._fill_tags_menu)
        self.tags_button = QToolButton()
        self.tags_button.setObjectName("frameTagsButton")
        self.tags_button.setText("Tags")
        self.tags_button.setToolTip("Put a condition tag on this frame or take it off (T)")
        self.tags_button.setMenu(self.tags_menu)
        self.tags_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

    def load(self) -> None:
        """Read the open video's condition tags and those its project offers."""
        viewer = self.viewer
        if viewer.video is None:
            return
        self.tags = video_tags(viewer.db, viewer.video.id)
        project_id = viewer.regions.project_id
        self.project_tags = project_tags(viewer.db, project_id) if project_id else []
        viewer.refresh_overlay()

    def clear(self) -> None:
        self.tags, self.project_tags = VideoTags([], {}), []
        self.tags_label.clear()

    def show_frame(self, frame: int) -> None:
        self.tags_label.setText("Tags: " + (", ".join(self.tags.of_frame(frame)) or "none"))

    def _fill_tags_menu(self) -> None:
        self.tags_menu.clear()
        if not self.project_tags:
            self.tags_menu.addAction("The project has no condition tags (vru-desktop tags)").setEnabled(False)
        on_frame = self.tags.of_frame(self.viewer.current)
        for tag in self.project_tags:
            action = self.tags_menu.addAction(tag)
            action.setCheckable(True)
            action.setChecked(tag in on_frame)
            if tag in self.tags.video:
                action.setEnabled(False)
                action.setToolTip("On the whole video")
            action.toggled.connect(lambda on, tag=tag: self.set_frame_tag(tag, on))

    def ask_frame_tag(self) -> None:
        self.tags_button.showMenu()

    def set_frame_tag(self, tag: str, on: bool) -> None:
        """Put ``tag`` on the current frame, or take it off."""
        viewer = self.viewer
        if viewer.video is None:
            return
        try:
            tag_frames(viewer.db, viewer.video.id, [tag], viewer.current, viewer.current, remove=not on)
        except VruError as exc:
            viewer.show_status(str(exc))
        self.load()
