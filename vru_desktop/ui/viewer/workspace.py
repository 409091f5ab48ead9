"""The Viewer workspace: exact frames, playback, the annotation overlay and its editing, the timeline.

Frame identity: the frame shown is always named by its 0-based decode index. Paused or stepping, the
picture comes from :class:`~vru_desktop.media.reader.FrameReader` (the exact decoded frame); while
playing, from QMediaPlayer, each frame's index found from its time in the stored frame table.

Frames not in the reader's cache are decoded off the UI thread (a far seek in a long GOP takes a
while): the previous frame stays on screen with its boxes and index until the asked-for frame
arrives, then index, pixels and boxes change together. Only the newest frame asked for is decoded;
frames from older requests are dropped. Cached frames (stepping with read-ahead) are shown at once.

The timeline's summary is computed in full (off the UI thread) when a video opens or the detection
run changes; after an edit only the frames the editor reports are read again.

Every edit goes through :class:`~vru_desktop.annotations.editor.AnnotationEditor`, which saves it at
once and keeps the video's undo history; an action on a selection is one undo step. Each video's
editor (and so its history) is kept when another video is opened; the histories share one memory
budget (setting ``annotations.undo_history_mb``). The window's ``annotationsChanged`` signal tells
other areas.

Beside the picture, the objects panel (:mod:`~vru_desktop.ui.viewer.objects`) lists the frame's
boxes and the project's ignore regions; its selection follows the picture's and the other way round.
Ignore regions are drawn as polygons on the picture (key I) and stored on the video's project.
Brightness and contrast (toolbar "Display") change only the picture shown, for the whole session.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QRectF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from vru_desktop.annotations.editor import AnnotationEditor, counted
from vru_desktop.annotations.tags import VideoTags, project_tags, tag_frames, video_tags
from vru_desktop.annotations.undo import UndoBudget
from vru_desktop.annotations.views import TimelineSummary
from vru_desktop.errors import ConflictError, MediaError, ValidationError, VruError
from vru_desktop.jobs.operations import Operations, Task
from vru_desktop.library.projects import set_ignore_regions, video_ignore_regions
from vru_desktop.library.views import OpenVideo, load_video, project_summary
from vru_desktop.media.frames import FrameTable
from vru_desktop.media.reader import FrameReader
from vru_desktop.settings import ACCEPT_ALL_MARKS_REVIEWED, UNDO_HISTORY_MB, VIEWER_CACHE_MB, get_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import VRU_TYPES
from vru_desktop.ui.viewer.conflicts import resolve_conflict
from vru_desktop.ui.viewer.live import LiveUpdates
from vru_desktop.ui.viewer.objects import REGION, ObjectKey, ObjectRow, ObjectsPanel, object_key
from vru_desktop.ui.viewer.overlay import ANNOTATION, DETECTION, OverlayBox
from vru_desktop.ui.viewer.player import SPEEDS, Playback
from vru_desktop.ui.viewer.timeline import TimelineWidget
from vru_desktop.ui.viewer.view import BRIGHTNESS_RANGE, CONTRAST_RANGE, FrameView, Polygon, image_from_bgr

if TYPE_CHECKING:
    from vru_desktop.ui.main_window import MainWindow

T = TypeVar("T")

#: Live detection refreshes during a run are throttled to this interval.
DETECTION_REFRESH_MS = 500
#: A frame still decoding after this long shows the "decoding…" hint.
DECODING_HINT_MS = 100
MAX_CLASS_KEYS = 9
#: A message in the viewer's status line goes away after this long (or with its ✕ button).
STATUS_CLEAR_MS = 10_000
#: Window-state keys (QSettings) of the video and frame reopened at start.
LAST_VIDEO_KEY, LAST_FRAME_KEY = "viewer/video", "viewer/frame"
_BADGE_STYLE = "QLabel {{ background: {}; color: white; padding: 1px 8px; border-radius: 8px; }}"


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
    """The viewer tab. ``frameChanged(index)`` after every frame shown (playing, stepping, seeking)."""

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
        self.session_id: int | None = None
        self.highlight: tuple[int, tuple[float, float, float, float], str] | None = None
        self.propagate_frames = 10
        self.playback = Playback(self)
        self.playback.frameShown.connect(self._on_played_frame)
        self.playback.playingChanged.connect(self._on_playing_changed)
        self.playback.failed.connect(self.show_status)

        self.view = FrameView()
        self.view.boxDrawn.connect(self._on_box_drawn)
        self.view.boxEdited.connect(self._on_box_edited)
        self.view.zoomChanged.connect(lambda zoom: self.zoom_label.setText(f"{zoom * 100:.0f} %"))
        self.view.selectionChanged.connect(self._on_view_selection)
        self.view.polygonDrawn.connect(self.add_ignore_region)
        self.view.polygonModeChanged.connect(lambda on: self.region_action.setChecked(on))
        #: Objects (tracks or boxes) not drawn, and those the mouse cannot select, in the open video.
        self.hidden: set[ObjectKey] = set()
        self.locked: set[ObjectKey] = set()
        #: The project the open video is in, and its ignore regions (in the video's pixels).
        self.regions_project: int | None = None
        self.regions: list[Polygon] = []
        self.objects = ObjectsPanel()
        self.objects.rowsSelected.connect(self._on_rows_selected)
        self.objects.objectToggled.connect(self._on_object_toggled)
        self.missing_label = QLabel()
        self.missing_label.setObjectName("missingLabel")
        self.missing_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.missing_label.setWordWrap(True)
        self.relink_button = QPushButton("Relink…")
        self.relink_button.setObjectName("relinkButton")
        self.relink_button.clicked.connect(self.relink)
        missing_page = QWidget()
        missing_layout = QVBoxLayout(missing_page)
        missing_layout.addStretch(1)
        missing_layout.addWidget(self.missing_label)
        missing_layout.addWidget(self.relink_button, alignment=Qt.AlignmentFlag.AlignCenter)
        missing_layout.addStretch(1)
        self.empty_label = QLabel("Open a video from the Library (double-click or Enter).")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages = QStackedWidget()
        for page in (self.empty_label, self.view, missing_page):
            self.pages.addWidget(page)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.objects)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([900, 430])
        self.missing_page = missing_page

        self.timeline = TimelineWidget()
        self.timeline.frameRequested.connect(self.request_frame)
        self.timeline.setMaximumHeight(140)
        self._summary: TimelineSummary | None = None
        self._summary_ticket: Task | None = None
        self._edited_frames: set[int] = set()
        self._ops = Operations(self)
        self.live = LiveUpdates(self, db, self._on_edited)  # others' edits of the open video
        self._summary_timer = QTimer(self, singleShot=True, interval=150)
        self._summary_timer.timeout.connect(self._apply_edits_to_summary)
        self._fetch: tuple[Task, int] | None = None  # (task, frame index) of the frame decoding
        self._hint_timer = QTimer(self, singleShot=True, interval=DECODING_HINT_MS)
        self._hint_timer.timeout.connect(self._show_decoding_hint)
        self._requested: int | None = None
        self._request_timer = QTimer(self, singleShot=True, interval=0)
        self._request_timer.timeout.connect(self._show_requested)
        self._detections_timer = QTimer(self, singleShot=True, interval=DETECTION_REFRESH_MS)
        self._detections_timer.timeout.connect(self._refresh_detections)

        self._build_actions()
        self._build_toolbar()
        # Under the picture, where a narrow window's toolbar cannot push it out of sight.
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
        #: The open video's condition tags, and the tags its project offers.
        self.tags = VideoTags([], {})
        self.project_tags: list[str] = []
        self.tags_label = QLabel()
        self.tags_label.setObjectName("frameTagsLabel")
        self.tags_menu = QMenu("Condition &Tags", self)
        self.tags_menu.setObjectName("frameTagsMenu")
        self.tags_menu.aboutToShow.connect(self._fill_tags_menu)
        self.tags_button = QToolButton()
        self.tags_button.setObjectName("frameTagsButton")
        self.tags_button.setText("Tags")
        self.tags_button.setToolTip("Put a condition tag on this frame or take it off (T)")
        self.tags_button.setMenu(self.tags_menu)
        self.tags_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.decoding_label = QLabel()
        self.decoding_label.setObjectName("decodingHint")
        self.decoding_label.setEnabled(False)  # drawn greyed: a hint, not a message
        self.decoding_label.hide()
        status = QHBoxLayout()
        status.addWidget(self.name_label)
        status.addWidget(self.position_label)
        status.addWidget(self.gt_badge)
        status.addWidget(self.tags_label)
        status.addWidget(self.tags_button)
        status.addWidget(self.decoding_label)
        status.addStretch(1)
        status.addWidget(self.status_label)
        status.addWidget(self.status_clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.timeline)
        layout.addLayout(status)
        self._set_enabled(False)

    # -- actions --------------------------------------------------------------------------------
    def _action(  # type: ignore[no-untyped-def]
        self,
        text: str,
        shortcut: str | QKeySequence | None,
        slot,
        *,
        checkable: bool = False,
        icon: QStyle.StandardPixmap | None = None,
        short: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if short is not None:
            action.setIconText(short)
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(text.replace("&", "") + (f" ({keys})" if keys else ""))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        sp = QStyle.StandardPixmap
        self.play_action = a("&Play", "Space", self.toggle_play, icon=sp.SP_MediaPlay)
        self.next_action = a("&Next Frame", "Right", lambda: self.step(1), icon=sp.SP_ArrowRight)
        self.prev_action = a("P&revious Frame", "Left", lambda: self.step(-1), icon=sp.SP_ArrowLeft)
        self.next10_action = a(
            "Forward 10 Frames", "Shift+Right", lambda: self.step(10), icon=sp.SP_MediaSeekForward
        )
        self.prev10_action = a(
            "Back 10 Frames", "Shift+Left", lambda: self.step(-10), icon=sp.SP_MediaSeekBackward
        )
        self.first_action = a("&First Frame", "Home", lambda: self.go_to(0), icon=sp.SP_MediaSkipBackward)
        self.last_action = a("&Last Frame", "End", self.go_to_last, icon=sp.SP_MediaSkipForward)
        self.goto_action = a("&Go to Frame or Time…", "Ctrl+G", self.ask_go_to)
        self.slower_action = a("&Slower", "[", lambda: self.change_speed(-1))
        self.faster_action = a("F&aster", "]", lambda: self.change_speed(1))
        self.fit_action = a("Zoom to &Fit", "Ctrl+0", self.view.zoom_fit, short="Fit")
        self.actual_action = a("&Actual Size (100 %)", "Ctrl+1", self.view.zoom_actual, short="100 %")
        self.zoom_in_action = a("Zoom &In", QKeySequence.StandardKey.ZoomIn, lambda: self.view.zoom_by(1.25))
        self.zoom_out_action = a(
            "Zoom &Out", QKeySequence.StandardKey.ZoomOut, lambda: self.view.zoom_by(0.8)
        )
        self.show_gt_action = a("Show &Ground Truth", "G", self.refresh_overlay, checkable=True, short="GT")
        self.show_det_action = a("Show &Detections", "D", self.refresh_overlay, checkable=True, short="Det.")
        self.show_labels_action = a(
            "Show &Labels", "L", self._on_labels_toggled, checkable=True, short="Labels"
        )
        for action in (self.show_gt_action, self.show_det_action, self.show_labels_action):
            action.setChecked(True)

        self.undo_action = a("&Undo", "Ctrl+Z", self.undo)
        self.redo_action = a("&Redo", "Ctrl+Shift+Z", self.redo)
        self.delete_action = a("&Delete Box", "Delete", self.delete_selected)
        self.class_actions = [
            a(f"Class {n}", str(n), lambda _=False, n=n: self.set_class_key(n - 1))
            for n in range(1, MAX_CLASS_KEYS + 1)
        ]
        self.name_class_actions(VRU_TYPES)
        self.validated_action = a("Toggle &Validated", "V", lambda: self.toggle_flag("validated"))
        self.occluded_action = a("Toggle &Occluded", "O", lambda: self.toggle_flag("occluded"))
        self.truncated_action = a("Toggle &Truncated", "T", lambda: self.toggle_flag("truncated"))
        self.accept_action = a("&Accept Detection", "A", self.accept_selected)
        self.reject_action = a("Re&ject Detection", "R", self.reject_selected)
        self.accept_all_action = a("Accept All Detections on &Frame", "Shift+A", self.accept_all)
        self.copy_next_action = a("&Copy Boxes to Next Frame", "C", self.copy_to_next)
        self.propagate_action = a("&Propagate Box…", "P", self.ask_propagate)
        self.outside_action = a("&End Track Here (Outside)", "X", self.set_outside)
        self.reviewed_action = a(
            "Mark Frame &Reviewed", "F", self.toggle_reviewed, checkable=True, short="Reviewed"
        )
        self.tags_action = a("Condition &Tags of Frame…", "Shift+T", self.ask_frame_tag)
        self.region_action = a(
            "Draw &Ignore Region", "I", self.view.set_polygon_mode, checkable=True, short="Ignore region"
        )
        self.clear_regions_action = a("C&lear Ignore Regions…", None, self.clear_ignore_regions)
        # Not one of the workspace's actions: the panel can be shown with no video open.
        self.objects_action = QAction("&Objects Panel", self, checkable=True)
        self.objects_action.setChecked(True)
        self.objects_action.toggled.connect(self.show_objects_panel)

    def video_actions(self) -> list[QAction | None]:
        """The actions of the Video menu, in order (``None`` = separator)."""
        return [
            self.play_action,
            None,
            self.next_action,
            self.prev_action,
            self.next10_action,
            self.prev10_action,
            self.first_action,
            self.last_action,
            self.goto_action,
            None,
            self.slower_action,
            self.faster_action,
            None,
            self.fit_action,
            self.actual_action,
            self.zoom_in_action,
            self.zoom_out_action,
            None,
            self.show_gt_action,
            self.show_det_action,
            self.show_labels_action,
        ]

    def edit_actions(self) -> list[QAction | None]:
        """The actions of the Edit menu, in order (``None`` = separator)."""
        return [
            self.undo_action,
            self.redo_action,
            None,
            self.delete_action,
            *self.class_actions,
            self.validated_action,
            self.occluded_action,
            self.truncated_action,
            None,
            self.accept_action,
            self.reject_action,
            self.accept_all_action,
            None,
            self.copy_next_action,
            self.propagate_action,
            self.outside_action,
            None,
            self.reviewed_action,
            self.tags_action,
            None,
            self.region_action,
            self.clear_regions_action,
        ]

    def _build_toolbar(self) -> None:
        bar = QToolBar()
        self.toolbar = bar
        for action in (
            self.first_action,
            self.prev10_action,
            self.prev_action,
            self.play_action,
            self.next_action,
            self.next10_action,
            self.last_action,
        ):
            bar.addAction(action)
        self.frame_spin = QSpinBox()
        self.frame_spin.setObjectName("frameSpin")
        self.frame_spin.setKeyboardTracking(False)
        self.frame_spin.setPrefix("frame ")
        self.frame_spin.valueChanged.connect(self._on_spin)
        bar.addWidget(self.frame_spin)
        self.speed_combo = QComboBox()
        self.speed_combo.setObjectName("speedCombo")
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed:g}×", speed)
        self.speed_combo.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_combo.currentIndexChanged.connect(
            lambda i: self.playback.set_rate(float(self.speed_combo.itemData(i)))
        )
        bar.addWidget(self.speed_combo)
        bar.addSeparator()
        bar.addAction(self.fit_action)
        bar.addAction(self.actual_action)
        self.zoom_label = QLabel("100 %")
        bar.addWidget(self.zoom_label)
        bar.addSeparator()
        self.class_combo = QComboBox()
        self.class_combo.setObjectName("classCombo")
        self.class_combo.setToolTip("Class of new boxes (keys 1–9 with nothing selected)")
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        bar.addWidget(self.class_combo)
        bar.addSeparator()
        bar.addAction(self.show_gt_action)
        bar.addAction(self.show_det_action)
        bar.addAction(self.show_labels_action)
        self.run_combo = QComboBox()
        self.run_combo.setObjectName("runCombo")
        self.run_combo.setToolTip("Detection run shown")
        self.run_combo.setMinimumContentsLength(16)
        self.run_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.run_combo.currentIndexChanged.connect(self._on_run_chosen)
        bar.addWidget(self.run_combo)
        self.confidence_spin = QDoubleSpinBox()
        self.confidence_spin.setObjectName("confidenceSpin")
        self.confidence_spin.setRange(0.0, 1.0)
        self.confidence_spin.setSingleStep(0.05)
        self.confidence_spin.setPrefix("conf ≥ ")
        self.confidence_spin.setValue(0.25)
        self.confidence_spin.valueChanged.connect(self.refresh_overlay)
        bar.addWidget(self.confidence_spin)
        bar.addSeparator()
        bar.addAction(self.reviewed_action)
        bar.addAction(self.region_action)
        bar.addWidget(self._display_button())

    def _display_button(self) -> QToolButton:
        """The toolbar's "Display" popup: brightness and contrast of the picture shown, and a reset."""
        self.brightness_slider = QSlider(Qt.Orientation.Horizontal)
        self.brightness_slider.setObjectName("brightnessSlider")
        self.brightness_slider.setRange(*BRIGHTNESS_RANGE)
        self.contrast_slider = QSlider(Qt.Orientation.Horizontal)
        self.contrast_slider.setObjectName("contrastSlider")
        self.contrast_slider.setRange(round(CONTRAST_RANGE[0] * 100), round(CONTRAST_RANGE[1] * 100))
        self.contrast_slider.setValue(100)
        for slider in (self.brightness_slider, self.contrast_slider):
            slider.setMinimumWidth(180)
            slider.valueChanged.connect(self._on_display_changed)
        self.display_reset = QPushButton("Reset")
        self.display_reset.setObjectName("displayReset")
        self.display_reset.clicked.connect(self.reset_display)
        box = QWidget()
        form = QFormLayout(box)
        form.addRow("Brightness", self.brightness_slider)
        form.addRow("Contrast", self.contrast_slider)
        form.addRow(QLabel("Display only: frames and exports are unchanged."))
        form.addRow(self.display_reset)
        menu = QMenu(self)
        embed = QWidgetAction(menu)
        embed.setDefaultWidget(box)
        menu.addAction(embed)
        button = QToolButton()
        button.setObjectName("displayButton")
        button.setText("Display")
        button.setToolTip("Brightness and contrast of the picture (for night footage; display only)")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setMenu(menu)
        return button

    def _on_display_changed(self) -> None:
        self.view.set_display_adjustment(self.brightness_slider.value(), self.contrast_slider.value() / 100)

    def reset_display(self) -> None:
        self.brightness_slider.setValue(0)
        self.contrast_slider.setValue(100)

    def show_objects_panel(self, shown: bool) -> None:
        self.objects.setVisible(shown)
        if shown:
            self.refresh_overlay()

    def name_class_actions(self, classes: tuple[str, ...]) -> None:
        """Name the class keys' actions (Edit menu) after ``classes``, the project's class list."""
        for number, action in enumerate(self.class_actions, start=1):
            action.setVisible(number <= len(classes))
            if number <= len(classes):
                action.setText(f"Class {number}: {classes[number - 1].replace('_', ' ')}")
                action.setToolTip(
                    f"Class of the selected boxes, or of new boxes: {classes[number - 1]} ({number})"
                )

    def show_project_classes(self, project_id: int) -> None:
        """With no video open, the Edit menu names the classes of the project chosen in the Library."""
        if self.video is not None:
            return
        project = project_summary(self.db, project_id)
        self.name_class_actions(project.vru_classes if project is not None else VRU_TYPES)

    def _set_enabled(self, enabled: bool) -> None:
        for action in self.actions():
            action.setEnabled(enabled)
        self.toolbar.setEnabled(enabled)
        if enabled:
            self._update_undo_actions()

    # -- opening --------------------------------------------------------------------------------
    def open_video(self, video_id: int, frame: int = 0) -> None:
        """Show ``video_id`` at ``frame``; a missing file shows the Relink page instead."""
        self.close_video()
        video, table = load_video(self.db, video_id)
        self.video, self.table = video, table
        self.editor = self._editor_of(video_id)
        self.live.watch(video_id, len(table))
        self.name_label.setText(f"<b>{html.escape(video.filename)}</b>")
        self.name_label.setToolTip(str(video.path))
        self.class_combo.clear()
        for number, name in enumerate(video.vru_classes[:MAX_CLASS_KEYS], start=1):
            self.class_combo.addItem(f"{number} {name.replace('_', ' ')}", name)
        self.name_class_actions(video.vru_classes)
        self.frame_spin.blockSignals(True)
        self.frame_spin.setRange(0, max(0, len(table) - 1))
        self.frame_spin.blockSignals(False)
        self.timeline.set_video(len(table), video.fps)
        self._load_runs()
        self.load_regions()
        self.load_tags()
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
        self._drop_fetch()
        self.live.watch(None)
        self._ops.cancel("summary")
        self._summary_timer.stop()
        self._summary = self._summary_ticket = None
        self._edited_frames = set()
        if self.reader is not None:
            # A frame still decoding for this video finishes on its own thread, not on this one.
            threading.Thread(target=self.reader.close, name="frame-reader-close", daemon=True).start()
        self.reader = self.editor = self.video = self.table = None
        self.highlight = None
        self.hidden, self.locked, self.regions, self.regions_project = set(), set(), [], None
        self.view.set_polygon_mode(False)
        self.view.set_regions([])
        self.objects.set_rows([], set(), set())
        self.name_label.clear()
        self.gt_badge.clear()
        self.tags, self.project_tags = VideoTags([], {}), []
        self.tags_label.clear()
        self.clear_status()
        self.view.set_overlay([])
        self._set_enabled(False)
        self.pages.setCurrentWidget(self.empty_label)

    def _show_missing(self, detail: str | None = None) -> None:
        assert self.video is not None
        text = detail or f"{self.video.path}: file not found."
        self.missing_label.setText(
            f"<b>{self.video.filename}</b> cannot be opened.<br>{text}<br>"
            "If it was moved or renamed, use Relink to point the library at its new place."
        )
        self.pages.setCurrentWidget(self.missing_page)

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
        self.open_video(video_id)

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
            self._drop_fetch()
            self._show_frame(index, image_from_bgr(image))
            return
        if self._fetch is not None and self._fetch[1] == index:
            return  # already decoding
        reader = self.reader
        # The worker makes the QImage too (QImage, unlike QPixmap, may be made on any thread).
        task = self._ops.run(
            lambda _task: image_from_bgr(reader.read(index)),
            on_success=self._on_frame_fetched,
            on_failure=self._on_frame_failed,
            newest="frame",
        )
        self._fetch = (task, index)
        if not self.decoding_label.isHidden():
            self._show_decoding_hint()
        elif not self._hint_timer.isActive():
            self._hint_timer.start()

    def pending_frame(self) -> int | None:
        """The frame asked for and still decoding (``None``: the frame shown is the last one asked for)."""
        return None if self._fetch is None else self._fetch[1]

    def target_frame(self) -> int:
        """The frame the viewer is on or going to: moves are relative to it."""
        return self.current if self._fetch is None else self._fetch[1]

    def _drop_fetch(self) -> None:
        self._ops.cancel("frame")
        self._fetch = None
        self._hint_timer.stop()
        self.decoding_label.hide()

    def _show_decoding_hint(self) -> None:
        if self._fetch is not None:
            self.decoding_label.setText(f"decoding frame {self._fetch[1]}…")
            self.decoding_label.show()

    def _on_frame_fetched(self, image: object) -> None:
        if self._fetch is None:
            return
        assert isinstance(image, QImage)
        index = self._fetch[1]
        self._drop_fetch()
        self._show_frame(index, image)

    def _on_frame_failed(self, message: str) -> None:
        if self._fetch is None:
            return
        index = self._fetch[1]
        self._drop_fetch()
        self.current = index
        self.view.show_message(f"Frame {index} cannot be shown.\n{message}")
        self._frame_shown()

    def _show_read(self, index: int) -> None:
        """Read ``index`` on this thread and show it (only where nothing else could be shown)."""
        assert self.reader is not None
        self._drop_fetch()
        try:
            image = self.reader.read(index)
        except MediaError as exc:
            self.current = index
            self.view.show_message(f"Frame {index} cannot be shown.\n{exc}")
            self._frame_shown()
        else:
            self._show_frame(index, image_from_bgr(image))

    def _show_frame(self, index: int, image: QImage) -> None:
        self.current = index
        self.view.show_image(image)
        self._frame_shown()

    def request_frame(self, index: int) -> None:
        """Show ``index`` once the events queued so far are handled: dragging along the timeline asks
        for many frames while one decodes; only the last one asked for is decoded."""
        self._requested = index
        if not self._request_timer.isActive():
            self._request_timer.start()

    def _show_requested(self) -> None:
        if self._requested is not None:
            index, self._requested = self._requested, None
            self.go_to(index)

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
            self._drop_fetch()
            self.playback.play(start)

    def change_speed(self, direction: int) -> None:
        index = min(max(self.speed_combo.currentIndex() + direction, 0), len(SPEEDS) - 1)
        self.speed_combo.setCurrentIndex(index)

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
        self._drop_fetch()
        self.current = index
        self.view.show_image(image)
        self._frame_shown()

    def _on_playing_changed(self, playing: bool) -> None:
        self.play_action.setText("&Pause" if playing else "&Play")
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_action.setIcon(self.style().standardIcon(icon))
        self.view.drawing_enabled = not playing  # boxes are drawn on a still frame
        if not playing and self.reader is not None:
            self.go_to(self.current)  # the exact decoded frame for the index where playback stopped

    def _on_spin(self, value: int) -> None:
        if value != self.current:
            self.request_frame(value)

    def _frame_shown(self) -> None:
        assert self.table is not None and self.video is not None
        index = self.current
        self.position_label.setText(
            f"Frame {index} / {len(self.table) - 1}   ·   {format_time(self.table.time_of(index))}"
            f"   ·   {self.video.fps:g} fps"
        )
        self.frame_spin.blockSignals(True)
        self.frame_spin.setValue(index)
        self.frame_spin.blockSignals(False)
        self.timeline.set_current_frame(index)
        self.refresh_overlay()
        self.frameChanged.emit(index)

    # -- overlay --------------------------------------------------------------------------------
    def refresh_overlay(self) -> None:
        if self.editor is None or self.video is None:
            return
        frame = self.current
        boxes: list[OverlayBox] = []
        rows: list[ObjectRow] = []
        if self.show_det_action.isChecked() and self.session_id is not None:
            minimum = self.confidence_spin.value()
            for detection in self.editor.frame_detections(frame, self.session_id, minimum):
                rows.append(ObjectRow.of_detection(detection))
                if object_key(detection) not in self.hidden:
                    boxes.append(OverlayBox.of_detection(detection))
        if self.show_gt_action.isChecked():
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
            rows += (ObjectRow.of_region(i, len(polygon)) for i, polygon in enumerate(self.regions))
            self.objects.set_rows(rows, self.hidden, self.locked)
            self._on_view_selection()
        reviewed = self.editor.is_reviewed(frame)
        self.reviewed_action.setChecked(reviewed)
        self._show_ground_truth_state(frame, reviewed)
        self.tags_label.setText("Tags: " + (", ".join(self.tags.of_frame(frame)) or "none"))

    # -- condition tags -------------------------------------------------------------------------
    def load_tags(self) -> None:
        """Read the open video's condition tags and those its project offers."""
        if self.video is None:
            return
        self.tags = video_tags(self.db, self.video.id)
        self.project_tags = project_tags(self.db, self.regions_project) if self.regions_project else []
        self.refresh_overlay()

    def _fill_tags_menu(self) -> None:
        self.tags_menu.clear()
        if not self.project_tags:
            self.tags_menu.addAction("The project has no condition tags (vru-desktop tags)").setEnabled(False)
        on_frame = self.tags.of_frame(self.current)
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
        if self.video is None:
            return
        try:
            tag_frames(self.db, self.video.id, [tag], self.current, self.current, remove=not on)
        except VruError as exc:
            self.show_status(str(exc))
        self.load_tags()

    def _show_ground_truth_state(self, frame: int, reviewed: bool) -> None:
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

    def _on_labels_toggled(self, shown: bool) -> None:
        self.view.set_labels_shown(shown)

    def set_highlight(self, frame: int, highlight: dict | None) -> None:
        self.highlight = None
        if highlight and highlight.get("box"):
            box = tuple(float(v) for v in highlight["box"])
            self.highlight = (frame, (box[0], box[1], box[2], box[3]), str(highlight.get("label", "")))
        self.refresh_overlay()

    def _load_runs(self) -> None:
        assert self.editor is not None
        keep = self.session_id
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        self.run_combo.addItem("No detection run", None)
        for run in self.editor.sessions():
            self.run_combo.addItem(f"{run.label} ({run.status})", run.id)
        position = self.run_combo.findData(keep) if keep is not None else -1
        self.run_combo.setCurrentIndex(position if position >= 0 else min(1, self.run_combo.count() - 1))
        self.run_combo.blockSignals(False)
        self.session_id = self.run_combo.currentData()

    def _on_run_chosen(self, _index: int) -> None:
        self.session_id = self.run_combo.currentData()
        self.refresh_overlay()
        self._refresh_summary()

    def choose_run(self, session_id: int | None) -> None:
        position = self.run_combo.findData(session_id)
        if position >= 0:
            self.run_combo.setCurrentIndex(position)

    def on_detections_changed(self, video_id: int, session_id: int) -> None:
        """A run wrote detections: list it, and redraw (throttled) when it is the run shown."""
        if self.video is None or video_id != self.video.id or self.editor is None:
            return
        if self.run_combo.findData(session_id) < 0:
            self._load_runs()
            if self.session_id is None:
                self.choose_run(session_id)
        if session_id == self.session_id and not self._detections_timer.isActive():
            self._detections_timer.start()

    def _refresh_detections(self) -> None:
        if not self.playback.is_playing():
            self.refresh_overlay()
        self._refresh_summary()

    def _refresh_summary(self) -> None:
        """Compute the whole timeline summary off the UI thread (a video opened, the run changed, a
        run wrote detections); edits made meanwhile are applied to it when it arrives."""
        if self.editor is None:
            return
        editor, session_id = self.editor, self.session_id
        self._edited_frames = set()
        self._summary_ticket = self._ops.run(
            lambda _task: editor.timeline_summary(session_id),
            on_success=self._on_summary,
            on_failure=self._on_summary_failed,
            newest="summary",
        )

    def summary(self) -> TimelineSummary | None:
        """The summary the timeline draws (``None`` until the first one has been computed)."""
        return self._summary

    def _on_summary(self, summary: object) -> None:
        if self.editor is None:
            return
        assert isinstance(summary, TimelineSummary)
        self._summary_ticket = None
        frames, self._edited_frames = self._edited_frames, set()
        self._summary = self.editor.update_summary(summary, frames)  # edits made while it was computed
        self.timeline.set_summary(self._summary)

    def _on_summary_failed(self, message: str) -> None:
        self._summary_ticket = None
        self.show_status(f"The timeline could not be read: {message}")

    def _apply_edits_to_summary(self) -> None:
        """Read again only the frames edited since the summary was made."""
        if self.editor is None or self._summary is None or self._summary_ticket is not None:
            return  # a full summary is on its way; it takes the edited frames when it arrives
        if not self._edited_frames:
            return
        frames, self._edited_frames = self._edited_frames, set()
        self._summary = self.editor.update_summary(self._summary, frames)
        self.timeline.set_summary(self._summary)

    # -- objects panel and ignore regions -------------------------------------------------------
    def _on_view_selection(self) -> None:
        region = self.view.selected_region
        keys = self.view.selected_keys() | ({(REGION, region)} if region is not None else set())
        self.objects.show_selection(keys)

    def _on_rows_selected(self, keys: list[tuple[str, int | None]]) -> None:
        regions = [index for kind, index in keys if kind == REGION]
        self.view.select_region(regions[0] if regions else None)
        self.view.select_keys({key for key in keys if key[0] != REGION})
        self._on_view_selection()  # locked boxes are not selected: nor are their rows

    def _on_object_toggled(self, key: ObjectKey, what: str, on: bool) -> None:
        keys = self.hidden if what == "hide" else self.locked
        if on:
            keys.add(key)
        else:
            keys.discard(key)
        QTimer.singleShot(0, self.refresh_overlay)  # not while the table reports its own change

    def load_regions(self) -> None:
        """Read and draw the ignore regions of the project the video is in now."""
        if self.video is None:
            return
        self.regions_project, regions = video_ignore_regions(self.db, self.video.id)
        self._show_regions(regions)

    def _show_regions(self, regions: list[Polygon]) -> None:
        self.regions = [[(float(x), float(y)) for x, y in polygon] for polygon in regions]
        self.view.set_regions(self.regions)
        self.refresh_overlay()

    def _store_regions(self, regions: list[Polygon]) -> bool:
        """Save ``regions`` as the project's ignore regions (validated as the project form does)."""
        if self.regions_project is None:
            self.show_status("This video is in no project: move it to one to give it ignore regions.")
            return False
        try:
            self._show_regions(set_ignore_regions(self.db, self.regions_project, regions))
        except VruError as exc:
            self.show_status(str(exc))
            return False
        return True

    def add_ignore_region(self, polygon: Polygon) -> None:
        if self._store_regions([*self.regions, polygon]):
            self.view.select_region(len(self.regions) - 1)
            self._on_view_selection()
            self.show_status(
                f"Ignore region {len(self.regions)} saved on the project: evaluation leaves out boxes"
                " and detections whose centre lies in it."
            )

    def delete_region(self, index: int) -> None:
        if 0 <= index < len(self.regions) and self._store_regions(
            [polygon for number, polygon in enumerate(self.regions) if number != index]
        ):
            self.view.select_region(None)
            self.show_status(f"Ignore region {index + 1} removed from the project.")

    def clear_ignore_regions(self) -> None:
        if not self.regions:
            return
        answer = QMessageBox.question(
            self,
            "Clear ignore regions",
            f"Remove all {len(self.regions)} ignore regions of this video's project? This cannot be undone.",
        )
        if answer == QMessageBox.StandardButton.Yes and self._store_regions([]):
            self.show_status("Ignore regions cleared.")

    # -- editing --------------------------------------------------------------------------------
    def _edit(self, work) -> object:  # type: ignore[no-untyped-def]
        """Run one editor call; a refused edit is shown, not raised."""
        if self.editor is None:
            return None
        try:
            return work(self.editor)
        except ConflictError as exc:
            retry = partial(work, self.editor)
            return resolve_conflict(self, self.editor, exc, retry, self.refresh_overlay, self.show_status)
        except VruError as exc:
            self.show_status(str(exc))
            return None

    def _edit_each(self, label: str, ids: list[int], one: Callable[[AnnotationEditor, int], T]) -> list[T]:
        """``one(editor, id)`` for each id as one undo step ``label``; a refused one takes back all."""
        if not ids:
            return []

        def work(editor: AnnotationEditor) -> list[T]:
            with editor.grouped(label):
                return [one(editor, item) for item in ids]

        return self._edit(work) or []

    def _on_edited(self, frames: set[int]) -> None:
        if self.current in frames:
            self.refresh_overlay()
        self._update_undo_actions()
        self._edited_frames |= frames
        if self._summary_ticket is None:
            self._summary_timer.start()
        if self.video is not None:
            self.annotationsEdited.emit(self.video.id)

    def _update_undo_actions(self) -> None:
        editor = self.editor
        self.undo_action.setEnabled(editor is not None and editor.can_undo())
        self.redo_action.setEnabled(editor is not None and editor.can_redo())
        self.undo_action.setText(f"&Undo {editor.undo_text()}" if editor and editor.can_undo() else "&Undo")
        self.redo_action.setText(f"&Redo {editor.redo_text()}" if editor and editor.can_redo() else "&Redo")

    def current_class(self) -> str:
        assert self.video is not None
        return str(self.class_combo.currentData() or self.video.vru_classes[0])

    def _selected_ids(self, kind: str) -> list[int]:
        return self.view.selected_ids(kind)

    def _on_box_drawn(self, rect: QRectF) -> None:
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        new_id = self._edit(lambda e: e.add_box(self.current, box, self.current_class()))
        if isinstance(new_id, int):
            self._select(ANNOTATION, [new_id])

    def _on_box_edited(self, annotation_id: int, box: tuple[float, float, float, float]) -> None:
        # After the mouse event has returned: saving redraws the overlay, which replaces the item.
        QTimer.singleShot(0, lambda: self._edit(lambda e: e.move_box(annotation_id, box)))

    def _select(self, kind: str, ids: list[int]) -> None:
        self.view.select(kind, ids)

    def delete_selected(self) -> None:
        selected = self._selected_ids(ANNOTATION)
        if not selected and self.view.selected_region is not None:
            self.delete_region(self.view.selected_region)
            return
        self._edit_each(f"Delete {_boxes(selected)}", selected, lambda e, i: e.delete_box(i))

    def set_class_key(self, position: int) -> None:
        if self.video is None or position >= len(self.video.vru_classes):
            return
        name = self.video.vru_classes[position]
        selected = self._selected_ids(ANNOTATION)
        if not selected:
            self.class_combo.setCurrentIndex(position)
            return
        self._edit_each(f"Change {_boxes(selected)} to {name}", selected, lambda e, i: e.set_class(i, name))
        self._select(ANNOTATION, selected)

    def toggle_flag(self, flag: str) -> None:
        if self.editor is None:
            return
        selected = self._selected_ids(ANNOTATION)
        views = {view.id: view for view in self.editor.frame_annotations(self.current)}
        shown = [annotation_id for annotation_id in selected if annotation_id in views]
        wanted = {i: not getattr(views[i], flag) for i in shown}
        values = set(wanted.values())
        label = (
            f"Mark {_boxes(shown)} {'' if values == {True} else 'not '}{flag}"
            if len(values) == 1
            else f"Toggle {flag} on {_boxes(shown)}"
        )
        self._edit_each(label, shown, lambda e, i: e.set_flags(i, **{flag: wanted[i]}))
        self._select(ANNOTATION, selected)

    def accept_selected(self) -> None:
        selected = self._selected_ids(DETECTION)
        label = f"Accept {counted(len(selected), 'detection', 'detections')}"
        created = self._edit_each(label, selected, lambda e, i: e.accept_detection(i))
        self._select(ANNOTATION, created)
        if created and self.editor is not None and not self.editor.is_reviewed(self.current):
            self.show_status(
                f"Accepted {counted(len(created), 'detection', 'detections')}. Frame {self.current}"
                " is not reviewed, so its boxes are not ground truth yet: press F once every box is right."
            )

    def reject_selected(self) -> None:
        selected = self._selected_ids(DETECTION)
        label = f"Reject {counted(len(selected), 'detection', 'detections')}"
        self._edit_each(label, selected, lambda e, i: e.reject_detection(i))

    def accept_all(self) -> None:
        if self.session_id is None:
            self.show_status("Choose a detection run first.")
            return
        session_id, minimum = self.session_id, self.confidence_spin.value()
        mark = get_setting(self.db, ACCEPT_ALL_MARKS_REVIEWED)
        self._edit(lambda e: e.accept_all_detections(self.current, session_id, minimum, mark_reviewed=mark))

    def copy_to_next(self) -> None:
        if self.table is None or self.current >= len(self.table) - 1:
            return
        if self._edit(lambda e: e.copy_to_next_frame(self.current)) is not None:
            self.step(1)

    def ask_propagate(self) -> None:
        selected = self._selected_ids(ANNOTATION)
        if len(selected) != 1:
            self.show_status("Select one box to propagate.")
            return
        frames, ok = QInputDialog.getInt(
            self, "Propagate box", "Copy the box forward this many frames:", self.propagate_frames, 1, 100_000
        )
        if ok:
            self.propagate(frames)

    def propagate(self, frames: int) -> None:
        selected = self._selected_ids(ANNOTATION)
        if len(selected) != 1:
            self.show_status("Select one box to propagate.")
            return
        self.propagate_frames = frames
        self._edit(lambda e: e.propagate(selected[0], frames))

    def set_outside(self) -> None:
        selected = self._selected_ids(ANNOTATION)
        label = f"End {counted(len(selected), 'track', 'tracks')} here"
        self._edit_each(label, selected, lambda e, i: e.set_outside(i))

    def toggle_reviewed(self) -> None:
        if self.editor is None:
            return
        reviewed = not self.editor.is_reviewed(self.current)
        self._edit(lambda e: e.set_reviewed(self.current, reviewed))
        self.reviewed_action.setChecked(self.editor.is_reviewed(self.current))

    def undo(self) -> None:
        self._edit(lambda e: e.undo())

    def redo(self) -> None:
        self._edit(lambda e: e.redo())

    def show_status(self, text: str) -> None:
        """A message under the video; it goes away after :data:`STATUS_CLEAR_MS` or with its ✕."""
        self.status_label.setText(text)
        self.status_clear.setVisible(bool(text))
        self._status_timer.start()

    def clear_status(self) -> None:
        self._status_timer.stop()
        self.status_label.clear()
        self.status_clear.hide()

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


def _boxes(ids: list[int]) -> str:
    return counted(len(ids), "box", "boxes")


def install(window: MainWindow) -> None:
    """Add the Viewer tab, its Video and Edit menu actions, and follow the window's signals."""
    workspace = ViewerWorkspace(window.db, window)
    window.viewer = workspace
    window.add_workspace(workspace, "Viewer")
    for menu_name, actions in (("&Video", workspace.video_actions()), ("&Edit", workspace.edit_actions())):
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
            workspace.load_regions()  # the project form may have changed its ignore regions

    window.libraryChanged.connect(library_changed)
    window.menu("&View").addAction(workspace.objects_action)
    workspace.annotationsEdited.connect(window.annotationsChanged)
