"""The Viewer workspace: exact frames, playback, the annotation overlay and its editing, the timeline.

Frame identity: the frame shown is always named by its 0-based decode index. Paused or stepping, the
picture comes from :class:`~vru_desktop.media.reader.FrameReader` (the exact decoded frame); while
playing, from QMediaPlayer, each frame's index found from its time in the stored frame table.

Frames not in the reader's cache are decoded off the UI thread (a far seek in a long GOP takes a
while): the previous frame stays on screen with its boxes and index until the asked-for frame
arrives, then index, pixels and boxes change together. Only the newest frame asked for is decoded;
frames from older requests are dropped (:mod:`~vru_desktop.ui.viewer.frames`). Cached frames
(stepping with read-ahead) are shown at once.

The timeline's summary is computed in full (off the UI thread) when a video opens or the detection
run changes; after an edit only the frames the editor reports are read again
(:mod:`~vru_desktop.ui.viewer.timeline_sync`).

Every edit goes through :class:`~vru_desktop.annotations.editor.AnnotationEditor`, which saves it at
once and keeps the video's undo history; an action on a selection is one undo step
(:mod:`~vru_desktop.ui.viewer.editing`). Each video's
editor (and so its history) is kept when another video is opened; the histories share one memory
budget (setting ``annotations.undo_history_mb``). The window's ``annotationsChanged`` signal tells
other areas.

Beside the picture, the objects panel (:mod:`~vru_desktop.ui.viewer.objects`) lists the frame's
boxes and the project's ignore regions; its selection follows the picture's and the other way round.
Ignore regions are drawn as polygons on the picture (key I) and stored on the video's project
(:mod:`~vru_desktop.ui.viewer.regions`). The actions, menus and toolbar are in
:mod:`~vru_desktop.ui.viewer.controls`. Brightness and contrast (toolbar "Display") change only the
picture shown, for the whole session.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QInputDialog, QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.annotations.undo import UndoBudget
from vru_desktop.annotations.views import TimelineSummary
from vru_desktop.errors import MediaError, ValidationError, VruError
from vru_desktop.library.views import OpenVideo, load_video, project_summary
from vru_desktop.media.frames import FrameTable
from vru_desktop.media.reader import FrameReader
from vru_desktop.settings import UNDO_HISTORY_MB, VIEWER_CACHE_MB, get_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import VRU_TYPES
from vru_desktop.ui.viewer.controls import ViewerControls
from vru_desktop.ui.viewer.editing import EditCommands
from vru_desktop.ui.viewer.frames import FrameFetcher
from vru_desktop.ui.viewer.live import LiveUpdates
from vru_desktop.ui.viewer.missing import MissingPage
from vru_desktop.ui.viewer.objects import REGION, ObjectKey, ObjectRow, ObjectsPanel, object_key
from vru_desktop.ui.viewer.overlay import OverlayBox
from vru_desktop.ui.viewer.player import Playback
from vru_desktop.ui.viewer.regions import IgnoreRegions
from vru_desktop.ui.viewer.runs import RunChoice
from vru_desktop.ui.viewer.status import ViewerStatusBar
from vru_desktop.ui.viewer.tags import FrameTags
from vru_desktop.ui.viewer.timeline import TimelineWidget
from vru_desktop.ui.viewer.timeline_sync import TimelineSync
from vru_desktop.ui.viewer.view import FrameView, image_from_bgr

if TYPE_CHECKING:
    from vru_desktop.ui.main_window import MainWindow

#: Window-state keys (QSettings) of the video and frame reopened at start.
LAST_VIDEO_KEY, LAST_FRAME_KEY = "viewer/video", "viewer/frame"


def format_time(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 1:
        return f"{sign}{int(hours)}:{int(minutes):02d}:{secs:06.3f}"
    return f"{sign}{int(minutes)}:{secs:06.3f}"


_TIME = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)\s*s?$")


def parse_position(text: str, table: FrameTable) -> int:
    """A frame index from what a person typed: ``123`` (frame), ``12.5s``, ``1:02.5`` or ``1:02:03``.

    Times are the video's own presentation times, as the viewer shows them.
    """
    value = text.strip().lower()
    if not value:
        raise ValidationError("Give a frame number or a time.", hint="For example 120, 4.8s or 0:04.8.")
    if value.isdigit():
        index = int(value)
        if index >= len(table):
            raise ValidationError(
                f"Frame {index} is outside the video (frames 0–{len(table) - 1}).",
                hint="Give a smaller frame number.",
            )
        return index
    match = _TIME.match(value)
    if match is None or (":" not in value and not value.endswith("s")):
        raise ValidationError(
            f"'{text}' is neither a frame number nor a time.", hint="For example 120, 4.8s or 0:04.8."
        )
    first, second, secs = match.groups()
    hours, minutes = (int(first), int(second)) if second is not None else (0, int(first or 0))
    seconds = hours * 3600 + minutes * 60 + float(secs)
    if seconds > table.times[-1] + 1.0:
        raise ValidationError(
            f"{format_time(seconds)} is after the end of the video ({format_time(table.times[-1])}).",
            hint="Give an earlier time.",
        )
    return table.index_at(seconds)


class ViewerWorkspace(QWidget):
    """The viewer tab: the open video, its current frame and what is drawn on it. Its parts:
    ``controls`` (actions, menus, toolbar), ``fetcher`` (frames decoded off the UI thread),
    ``timeline_sync``, ``runs`` (the detection run shown), ``edits`` (the Edit menu's commands),
    ``regions`` (ignore regions), ``frame_tags``, ``status_bar`` and ``missing_page``.

    ``frameChanged(index)`` after every frame shown (playing, stepping, seeking);
    ``annotationsEdited(video_id)`` after every edit.
    """

    frameChanged = Signal(int)
    annotationsEdited = Signal(int)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewerWorkspace")
        self.db = db
        self.video: OpenVideo | None = None
        self.table: FrameTable | None = None
        self.reader: FrameReader | None = None
        self.editor: AnnotationEditor | None = None
        #: The editor of every video opened so far, so each keeps its undo history.
        self._editors: dict[int, AnnotationEditor] = {}
        self._undo_budget = UndoBudget(get_setting(db, UNDO_HISTORY_MB) * 2**20)
        self.current = 0
        self.highlight: tuple[int, tuple[float, float, float, float], str] | None = None
        #: Objects (tracks or boxes) not drawn, and those the mouse cannot select, in the open video.
        self.hidden: set[ObjectKey] = set()
        self.locked: set[ObjectKey] = set()
        self.playback = Playback(self)
        self.playback.frameShown.connect(self._on_played_frame)
        self.playback.playingChanged.connect(self._on_playing_changed)
        self.playback.failed.connect(self.show_status)
        self.fetcher = FrameFetcher(self)
        self.fetcher.fetched.connect(self._show_frame)
        self.fetcher.failed.connect(self._show_failed)
        self.fetcher.requested.connect(self.go_to)

        self.view = FrameView()
        self.view.selectionChanged.connect(self.show_view_selection)
        self.objects = ObjectsPanel()
        self.objects.rowsSelected.connect(self._on_rows_selected)
        self.objects.objectToggled.connect(self._on_object_toggled)
        self.missing_page = MissingPage(db)
        self.missing_page.relinked.connect(self.open_video)
        self.empty_label = QLabel("Open a video from the Library (double-click or Enter).")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages = QStackedWidget()
        for page in (self.empty_label, self.view, self.missing_page):
            self.pages.addWidget(page)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.objects)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([900, 430])

        self.timeline = TimelineWidget()
        self.timeline.frameRequested.connect(self.fetcher.request)
        self.timeline.setMaximumHeight(140)
        self.timeline_sync = TimelineSync(self.timeline, self)
        self.timeline_sync.failed.connect(self.show_status)
        self.runs = RunChoice(self)
        self.runs.chosen.connect(self._on_run_chosen)
        self.runs.detectionsWritten.connect(self._refresh_detections)
        self.live = LiveUpdates(self, db, self._on_edited)  # others' edits of the open video

        self.edits = EditCommands(self)
        self.regions = IgnoreRegions(self)
        self.frame_tags = FrameTags(self)
        self.controls = ViewerControls(self)
        self.view.regions.modeChanged.connect(self.controls.region_action.setChecked)
        self.status_bar = ViewerStatusBar([self.frame_tags.tags_label, self.frame_tags.tags_button])
        self.fetcher.hintChanged.connect(self.status_bar.show_decoding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.controls.toolbar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.timeline)
        layout.addWidget(self.status_bar)
        self._set_enabled(False)

    def show_objects_panel(self, shown: bool) -> None:
        self.objects.setVisible(shown)
        if shown:
            self.refresh_overlay()

    def show_project_classes(self, project_id: int) -> None:
        """With no video open, the Edit menu names the classes of the project chosen in the Library."""
        if self.video is not None:
            return
        project = project_summary(self.db, project_id)
        self.controls.name_class_actions(project.vru_classes if project is not None else VRU_TYPES)

    def _set_enabled(self, enabled: bool) -> None:
        for action in self.actions():
            action.setEnabled(enabled)
        self.controls.toolbar.setEnabled(enabled)
        if enabled:
            self.controls.show_undo_state(self.editor)

    def show_status(self, text: str) -> None:
        """A message under the video; it goes away after a while or with its ✕."""
        self.status_bar.show_status(text)

    # -- opening --------------------------------------------------------------------------------
    def open_video(self, video_id: int, frame: int = 0) -> None:
        """Show ``video_id`` at ``frame``; a missing file shows the Relink page instead."""
        self.close_video()
        video, table = load_video(self.db, video_id)
        self.video, self.table = video, table
        self.editor = editor = self._editor_of(video_id)
        self.live.watch(video_id, len(table))
        self.status_bar.show_video(video.filename, video.path)
        self.controls.show_classes(video.vru_classes)
        spin = self.controls.frame_spin
        spin.blockSignals(True)
        spin.setRange(0, max(0, len(table) - 1))
        spin.blockSignals(False)
        self.timeline.set_video(len(table), video.fps)
        self.runs.load(editor)
        self.regions.load(video_id)
        self.frame_tags.load()
        if not video.path.exists():
            self._show_missing()
            return
        try:
            cache_mb = get_setting(self.db, VIEWER_CACHE_MB)
            self.reader = FrameReader(video.path, table, video.kind, cache_bytes=cache_mb * 1024 * 1024)
            self.playback.open(video.path, video.kind, table, self.reader)
        except MediaError as exc:
            self._show_missing(str(exc))
            return
        self.view.set_frame_size(video.width, video.height)
        self.pages.setCurrentWidget(self.view)
        self._set_enabled(True)
        self.view.zoom_fit()
        self._refresh_summary()
        # No earlier frame of this video could stay on screen meanwhile: the first one is read here.
        self._show_read(min(max(int(frame), 0), len(table) - 1))
        self.view.setFocus()

    def _editor_of(self, video_id: int) -> AnnotationEditor:
        """The video's editor: made the first time, the same one (with its history) afterwards."""
        self._undo_budget.limit_bytes = get_setting(self.db, UNDO_HISTORY_MB) * 2**20
        editor = self._editors.get(video_id)
        if editor is None:
            editor = self._editors[video_id] = AnnotationEditor(self.db, video_id, self._undo_budget)
            editor.add_listener(self._on_edited)
        return editor

    def close_video(self) -> None:
        self.playback.close()
        self.fetcher.drop()
        self.live.watch(None)
        self.timeline_sync.clear()
        if self.reader is not None:
            # A frame still decoding for this video finishes on its own thread, not on this one.
            threading.Thread(target=self.reader.close, name="frame-reader-close", daemon=True).start()
        self.reader = self.editor = self.video = self.table = None
        self.highlight = None
        self.hidden, self.locked = set(), set()
        self.regions.clear()
        self.view.regions.set_polygon_mode(False)
        self.objects.set_rows([], set(), set())
        self.missing_page.video = None
        self.status_bar.clear()
        self.frame_tags.clear()
        self.view.set_overlay([])
        self._set_enabled(False)
        self.pages.setCurrentWidget(self.empty_label)

    def _show_missing(self, detail: str | None = None) -> None:
        assert self.video is not None
        self.missing_page.show_video(self.video, detail)
        self.pages.setCurrentWidget(self.missing_page)

    # -- frames ---------------------------------------------------------------------------------
    def go_to(self, index: int) -> None:
        """Show the exact frame ``index`` (pauses playback): at once from the cache, else once decoded."""
        if self.table is None or self.reader is None:
            return
        if self.playback.is_playing():
            self.playback.pause()
        index = min(max(int(index), 0), len(self.table) - 1)
        image = self.reader.cached(index)
        if image is not None:
            self.fetcher.drop()
            self._show_frame(index, image_from_bgr(image))
        else:
            self.fetcher.fetch(self.reader, index)

    def pending_frame(self) -> int | None:
        """The frame asked for and still decoding (``None``: the frame shown is the last one asked for)."""
        return self.fetcher.pending()

    def target_frame(self) -> int:
        """The frame the viewer is on or going to: moves are relative to it."""
        pending = self.fetcher.pending()
        return self.current if pending is None else pending

    def _show_failed(self, index: int, message: str) -> None:
        self.current = index
        self.view.show_message(f"Frame {index} cannot be shown.\n{message}")
        self._frame_shown()

    def _show_read(self, index: int) -> None:
        """Read ``index`` on this thread and show it (only where nothing else could be shown)."""
        assert self.reader is not None
        self.fetcher.drop()
        try:
            image = self.reader.read(index)
        except MediaError as exc:
            self._show_failed(index, str(exc))
        else:
            self._show_frame(index, image_from_bgr(image))

    def _show_frame(self, index: int, image: QImage) -> None:
        self.current = index
        self.view.show_image(image)
        self._frame_shown()

    def go_to_last(self) -> None:
        if self.table is not None:
            self.go_to(len(self.table) - 1)

    def step(self, delta: int) -> None:
        if self.table is not None:
            self.go_to(self.target_frame() + delta)

    def toggle_play(self) -> None:
        if self.playback.is_playing():
            self.playback.pause()  # playingChanged shows the exact frame where it stopped
        elif self.table is not None:
            start = self.target_frame()
            self.fetcher.drop()
            self.playback.play(start)

    def ask_go_to(self) -> None:
        if self.table is None:
            return
        text, ok = QInputDialog.getText(
            self, "Go to", "Frame number or time (for example 120, 4.8s, 0:04.8):"
        )
        if ok:
            self.go_to_text(text)

    def go_to_text(self, text: str) -> None:
        assert self.table is not None
        try:
            self.go_to(parse_position(text, self.table))
        except ValidationError as exc:
            self.show_status(str(exc))

    def _on_played_frame(self, index: int, image: QImage) -> None:
        self.fetcher.drop()
        self._show_frame(index, image)

    def _on_playing_changed(self, playing: bool) -> None:
        self.controls.show_playing(playing)
        self.view.drawing_enabled = not playing  # boxes are drawn on a still frame
        if not playing and self.reader is not None:
            self.go_to(self.current)  # the exact decoded frame for the index where playback stopped

    def on_frame_spin(self, value: int) -> None:
        if value != self.current:
            self.fetcher.request(value)

    def _frame_shown(self) -> None:
        assert self.table is not None and self.video is not None
        index = self.current
        self.status_bar.show_position(
            f"Frame {index} / {len(self.table) - 1}   ·   {format_time(self.table.time_of(index))}"
            f"   ·   {self.video.fps:g} fps"
        )
        spin = self.controls.frame_spin
        spin.blockSignals(True)
        spin.setValue(index)
        spin.blockSignals(False)
        self.timeline.set_current_frame(index)
        self.refresh_overlay()
        self.frameChanged.emit(index)

    # -- overlay and objects panel --------------------------------------------------------------
    def refresh_overlay(self) -> None:
        if self.editor is None or self.video is None:
            return
        frame, controls = self.current, self.controls
        boxes: list[OverlayBox] = []
        rows: list[ObjectRow] = []
        if controls.show_det_action.isChecked() and self.runs.session_id is not None:
            minimum = controls.confidence_spin.value()
            for detection in self.editor.frame_detections(frame, self.runs.session_id, minimum):
                rows.append(ObjectRow.of_detection(detection))
                if object_key(detection) not in self.hidden:
                    boxes.append(OverlayBox.of_detection(detection))
        if controls.show_gt_action.isChecked():
            for annotation in self.editor.frame_annotations(frame):
                rows.append(ObjectRow.of_annotation(annotation))
                if object_key(annotation) not in self.hidden:
                    boxes.append(OverlayBox.of_annotation(annotation))
        locked = {row.key for row in rows if row.object in self.locked}
        if self.highlight is not None and self.highlight[0] == frame:
            boxes.append(OverlayBox.highlight(self.highlight[1], self.highlight[2]))
        self.view.set_overlay(boxes, locked)
        if self.playback.is_playing():  # 200 rows take ~20 ms: the panel follows once paused
            self.objects.set_playing()
        elif not self.objects.isHidden():  # also while the Viewer tab is not the one shown
            polygons = self.regions.polygons
            rows += (ObjectRow.of_region(i, len(polygon)) for i, polygon in enumerate(polygons))
            self.objects.set_rows(rows, self.hidden, self.locked)
            self.show_view_selection()
        reviewed = self.editor.is_reviewed(frame)
        controls.reviewed_action.setChecked(reviewed)
        self.status_bar.show_ground_truth_state(frame, reviewed)
        self.frame_tags.show_frame(frame)

    def set_highlight(self, frame: int, highlight: dict | None) -> None:
        self.highlight = None
        if highlight and highlight.get("box"):
            box = tuple(float(v) for v in highlight["box"])
            self.highlight = (frame, (box[0], box[1], box[2], box[3]), str(highlight.get("label", "")))
        self.refresh_overlay()

    def show_view_selection(self) -> None:
        """The objects panel selects the rows of what is selected on the picture."""
        region = self.view.regions.selected
        keys = self.view.selected_keys() | ({(REGION, region)} if region is not None else set())
        self.objects.show_selection(keys)

    def _on_rows_selected(self, keys: list[tuple[str, int | None]]) -> None:
        regions = [index for kind, index in keys if kind == REGION]
        self.view.regions.select(regions[0] if regions else None)
        self.view.select_keys({key for key in keys if key[0] != REGION})
        self.show_view_selection()  # locked boxes are not selected: nor are their rows

    def _on_object_toggled(self, key: ObjectKey, what: str, on: bool) -> None:
        keys = self.hidden if what == "hide" else self.locked
        if on:
            keys.add(key)
        else:
            keys.discard(key)
        QTimer.singleShot(0, self.refresh_overlay)  # not while the table reports its own change

    # -- detection runs and the timeline --------------------------------------------------------
    def _on_run_chosen(self) -> None:
        self.refresh_overlay()
        self._refresh_summary()

    def on_detections_changed(self, video_id: int, session_id: int) -> None:
        """A run wrote detections: list it, and redraw (throttled) when it is the run shown."""
        if self.video is not None and video_id == self.video.id and self.editor is not None:
            self.runs.on_detections(self.editor, session_id)

    def _refresh_detections(self) -> None:
        if not self.playback.is_playing():
            self.refresh_overlay()
        self._refresh_summary()

    def _refresh_summary(self) -> None:
        if self.editor is not None:
            self.timeline_sync.refresh(self.editor, self.runs.session_id)

    def summary(self) -> TimelineSummary | None:
        """The summary the timeline draws (``None`` until the first one has been computed)."""
        return self.timeline_sync.summary()

    def _on_edited(self, frames: set[int]) -> None:
        if self.current in frames:
            self.refresh_overlay()
        self.controls.show_undo_state(self.editor)
        self.timeline_sync.edited(frames)
        if self.video is not None:
            self.annotationsEdited.emit(self.video.id)

    # -- window state ---------------------------------------------------------------------------
    def save_state(self, settings: QSettings) -> None:
        """Remember the open video and frame, reopened by :meth:`restore_state` at the next start."""
        if self.video is None:
            settings.remove(LAST_VIDEO_KEY)
            settings.remove(LAST_FRAME_KEY)
            return
        settings.setValue(LAST_VIDEO_KEY, self.video.id)
        settings.setValue(LAST_FRAME_KEY, self.target_frame())

    def restore_state(self, settings: QSettings) -> None:
        video_id = settings.value(LAST_VIDEO_KEY)
        if video_id is None:
            return
        try:
            self.open_video(int(video_id), int(settings.value(LAST_FRAME_KEY, 0)))
        except VruError:
            self.close_video()  # removed from the library since: start empty


def install(window: MainWindow) -> None:
    """Add the Viewer tab, its Video and Edit menu actions, and follow the window's signals."""
    workspace = ViewerWorkspace(window.db, window)
    window.viewer = workspace
    window.add_workspace(workspace, "Viewer")
    for menu_name, actions in (
        ("&Video", workspace.controls.video_actions()),
        ("&Edit", workspace.controls.edit_actions()),
    ):
        menu = window.menu(menu_name)
        for action in actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)

    def open_video(video_id: int, frame: int = 0, highlight: dict | None = None) -> None:
        try:
            if workspace.video is None or workspace.video.id != video_id:
                workspace.open_video(video_id, frame)
            else:
                workspace.go_to(frame)
        except VruError as exc:
            window.statusBar().showMessage(str(exc), 10_000)
            return
        workspace.set_highlight(frame, highlight)
        window.show_workspace(workspace)
        workspace.view.setFocus()

    window.videoActivated.connect(lambda video_id: open_video(video_id))
    window.openVideoRequested.connect(open_video)
    window.detectionsChanged.connect(workspace.on_detections_changed)
    window.projectChanged.connect(workspace.show_project_classes)

    def library_changed() -> None:  # the project shown, or its class list, may have changed
        project_id = window.current_project_id()
        if project_id is not None:
            workspace.show_project_classes(project_id)
        if workspace.video is not None:
            workspace.regions.load(workspace.video.id)  # the project form may have changed its ignore regions

    window.libraryChanged.connect(library_changed)
    window.menu("&View").addAction(workspace.controls.objects_action)
    workspace.annotationsEdited.connect(window.annotationsChanged)
