"""The viewer's actions (its Video and Edit menus, with their shortcuts) and its toolbar.

Every action is added to the workspace widget, so its shortcut works wherever the focus is inside the
Viewer tab; each calls a method of the workspace or of one of its parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QToolBar,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.store.models import VRU_TYPES
from vru_desktop.ui.viewer.box_attributes import BoxAttributes
from vru_desktop.ui.viewer.player import SPEEDS
from vru_desktop.ui.viewer.view import BRIGHTNESS_RANGE, CONTRAST_RANGE

if TYPE_CHECKING:
    from vru_desktop.ui.viewer.workspace import ViewerWorkspace

MAX_CLASS_KEYS = 9


class ViewerControls(QObject):
    """The actions and the toolbar of ``viewer``."""

    def __init__(self, viewer: ViewerWorkspace) -> None:
        super().__init__(viewer)
        self.viewer = viewer
        self._build_video_actions()
        self._build_edit_actions()
        # Not one of the workspace's actions: the panel can be shown with no video open.
        self.objects_action = QAction("&Objects Panel", viewer, checkable=True)
        self.objects_action.setChecked(True)
        self.objects_action.toggled.connect(viewer.show_objects_panel)
        self._build_toolbar()

    def _action(
        self,
        text: str,
        shortcut: str | QKeySequence.StandardKey | None,
        slot: Callable[..., object],
        *,
        checkable: bool = False,
        icon: QStyle.StandardPixmap | None = None,
        short: str | None = None,
    ) -> QAction:
        action = QAction(text, self.viewer)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
        if icon is not None:
            action.setIcon(self.viewer.style().standardIcon(icon))
        if short is not None:
            action.setIconText(short)
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(text.replace("&", "") + (f" ({keys})" if keys else ""))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.viewer.addAction(action)
        return action

    def _build_video_actions(self) -> None:
        a, viewer, view = self._action, self.viewer, self.viewer.view
        sp = QStyle.StandardPixmap
        self.play_action = a("&Play", "Space", viewer.toggle_play, icon=sp.SP_MediaPlay)
        self.next_action = a("&Next Frame", "Right", lambda: viewer.step(1), icon=sp.SP_ArrowRight)
        self.prev_action = a("P&revious Frame", "Left", lambda: viewer.step(-1), icon=sp.SP_ArrowLeft)
        self.next10_action = a(
            "Forward 10 Frames", "Shift+Right", lambda: viewer.step(10), icon=sp.SP_MediaSeekForward
        )
        self.prev10_action = a(
            "Back 10 Frames", "Shift+Left", lambda: viewer.step(-10), icon=sp.SP_MediaSeekBackward
        )
        self.first_action = a("&First Frame", "Home", lambda: viewer.go_to(0), icon=sp.SP_MediaSkipBackward)
        self.last_action = a("&Last Frame", "End", viewer.go_to_last, icon=sp.SP_MediaSkipForward)
        self.goto_action = a("&Go to Frame or Time…", "Ctrl+G", viewer.ask_go_to)
        self.slower_action = a("&Slower", "[", lambda: self.change_speed(-1))
        self.faster_action = a("F&aster", "]", lambda: self.change_speed(1))
        self.fit_action = a("Zoom to &Fit", "Ctrl+0", view.zoom_fit, short="Fit")
        self.actual_action = a("&Actual Size (100 %)", "Ctrl+1", view.zoom_actual, short="100 %")
        self.zoom_in_action = a("Zoom &In", QKeySequence.StandardKey.ZoomIn, lambda: view.zoom_by(1.25))
        self.zoom_out_action = a("Zoom &Out", QKeySequence.StandardKey.ZoomOut, lambda: view.zoom_by(0.8))
        self.show_gt_action = a("Show &Ground Truth", "G", viewer.refresh_overlay, checkable=True, short="GT")
        self.show_det_action = a(
            "Show &Detections", "D", viewer.refresh_overlay, checkable=True, short="Det."
        )
        self.show_labels_action = a(
            "Show &Labels", "L", view.set_labels_shown, checkable=True, short="Labels"
        )
        for action in (self.show_gt_action, self.show_det_action, self.show_labels_action):
            action.setChecked(True)

    def _build_edit_actions(self) -> None:
        a, edits = self._action, self.viewer.edits
        regions, tags = self.viewer.regions, self.viewer.frame_tags
        self.undo_action = a("&Undo", "Ctrl+Z", edits.undo)
        self.redo_action = a("&Redo", "Ctrl+Shift+Z", edits.redo)
        self.delete_action = a("&Delete Box", "Delete", edits.delete_selected)
        self.class_actions = [
            a(f"Class {n}", str(n), lambda _=False, n=n: edits.set_class_key(n - 1))
            for n in range(1, MAX_CLASS_KEYS + 1)
        ]
        self.name_class_actions(VRU_TYPES)
        self.validated_action = a("Toggle &Validated", "V", lambda: edits.toggle_flag("validated"))
        self.occluded_action = a("Toggle &Occluded", "O", lambda: edits.toggle_flag("occluded"))
        self.truncated_action = a("Toggle &Truncated", "T", lambda: edits.toggle_flag("truncated"))
        self.box_attributes = BoxAttributes(self)
        self.accept_action = a("&Accept Detection", "A", edits.accept_selected)
        self.reject_action = a("Re&ject Detection", "R", edits.reject_selected)
        self.accept_all_action = a("Accept All Detections on &Frame", "Shift+A", edits.accept_all)
        self.copy_next_action = a("&Copy Boxes to Next Frame", "C", edits.copy_to_next)
        self.propagate_action = a("&Propagate Box…", "P", edits.ask_propagate)
        self.outside_action = a("&End Track Here (Outside)", "X", edits.set_outside)
        self.reviewed_action = a(
            "Mark Frame &Reviewed", "F", edits.toggle_reviewed, checkable=True, short="Reviewed"
        )
        self.tags_action = a("Condition &Tags of Frame…", "Shift+T", tags.ask_frame_tag)
        self.region_action = a(
            "Draw &Ignore Region",
            "I",
            self.viewer.view.regions.set_polygon_mode,
            checkable=True,
            short="Ignore region",
        )
        self.clear_regions_action = a("C&lear Ignore Regions…", None, regions.clear_all)

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
            *self.box_attributes.actions(),
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
        viewer = self.viewer
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
        self.frame_spin.valueChanged.connect(viewer.on_frame_spin)
        bar.addWidget(self.frame_spin)
        self.speed_combo = QComboBox()
        self.speed_combo.setObjectName("speedCombo")
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed:g}×", speed)
        self.speed_combo.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_combo.currentIndexChanged.connect(
            lambda i: viewer.playback.set_rate(float(self.speed_combo.itemData(i)))
        )
        bar.addWidget(self.speed_combo)
        bar.addSeparator()
        bar.addAction(self.fit_action)
        bar.addAction(self.actual_action)
        self.zoom_label = QLabel("100 %")
        viewer.view.zoomChanged.connect(lambda zoom: self.zoom_label.setText(f"{zoom * 100:.0f} %"))
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
        bar.addWidget(viewer.runs.combo)
        self.confidence_spin = QDoubleSpinBox()
        self.confidence_spin.setObjectName("confidenceSpin")
        self.confidence_spin.setRange(0.0, 1.0)
        self.confidence_spin.setSingleStep(0.05)
        self.confidence_spin.setPrefix("conf ≥ ")
        self.confidence_spin.setValue(0.25)
        self.confidence_spin.valueChanged.connect(viewer.refresh_overlay)
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
        menu = QMenu(self.viewer)
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
        self.viewer.view.set_display_adjustment(
            self.brightness_slider.value(), self.contrast_slider.value() / 100
        )

    def reset_display(self) -> None:
        self.brightness_slider.setValue(0)
        self.contrast_slider.setValue(100)

    def change_speed(self, direction: int) -> None:
        index = min(max(self.speed_combo.currentIndex() + direction, 0), len(SPEEDS) - 1)
        self.speed_combo.setCurrentIndex(index)

    def show_classes(self, classes: tuple[str, ...]) -> None:
        """The open video's class list: the class picker and the class keys."""
        self.class_combo.clear()
        for number, name in enumerate(classes[:MAX_CLASS_KEYS], start=1):
            self.class_combo.addItem(f"{number} {name.replace('_', ' ')}", name)
        self.name_class_actions(classes)

    def name_class_actions(self, classes: tuple[str, ...]) -> None:
        """Name the class keys' actions (Edit menu) after ``classes``, the project's class list."""
        for number, action in enumerate(self.class_actions, start=1):
            action.setVisible(number <= len(classes))
            if number <= len(classes):
                action.setText(f"Class {number}: {classes[number - 1].replace('_', ' ')}")
                action.setToolTip(
                    f"Class of the selected boxes, or of new boxes: {classes[number - 1]} ({number})"
                )

    def show_playing(self, playing: bool) -> None:
        self.play_action.setText("&Pause" if playing else "&Play")
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_action.setIcon(self.viewer.style().standardIcon(icon))

    def show_undo_state(self, editor: AnnotationEditor | None) -> None:
        """Undo and redo enabled, and named after the step they take back or make again."""
        self.undo_action.setEnabled(editor is not None and editor.can_undo())
        self.redo_action.setEnabled(editor is not None and editor.can_redo())
        self.undo_action.setText(f"&Undo {editor.undo_text()}" if editor and editor.can_undo() else "&Undo")
        self.redo_action.setText(f"&Redo {editor.redo_text()}" if editor and editor.can_redo() else "&Redo")
