"""The Edit menu's commands on the open video's boxes: each goes through the video's
:class:`~vru_desktop.annotations.editor.AnnotationEditor`, which saves it at once and keeps its undo
history; an action on a selection is one undo step. A refused edit is shown, not raised."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject, QRectF, QTimer
from PySide6.QtWidgets import QInputDialog

from vru_desktop.annotations.editor import AnnotationEditor, counted
from vru_desktop.errors import ConflictError, VruError
from vru_desktop.settings import ACCEPT_ALL_MARKS_REVIEWED, get_setting
from vru_desktop.ui.viewer.conflicts import resolve_conflict
from vru_desktop.ui.viewer.overlay import ANNOTATION, DETECTION

if TYPE_CHECKING:
    from vru_desktop.ui.viewer.workspace import ViewerWorkspace

T = TypeVar("T")


def _boxes(ids: list[int]) -> str:
    return counted(len(ids), "box", "boxes")


class EditCommands(QObject):
    """Edits of ``viewer``'s open video, on its current frame and the boxes selected on the picture."""

    def __init__(self, viewer: ViewerWorkspace) -> None:
        super().__init__(viewer)
        self.viewer = viewer
        self.propagate_frames = 10
        viewer.view.boxDrawn.connect(self._on_box_drawn)
        viewer.view.boxEdited.connect(self._on_box_edited)

    def edit(self, work: Callable[[AnnotationEditor], T]) -> T | None:
        """Run one editor call; a refused edit is shown, not raised."""
        if self.viewer.editor is None:
            return None
        try:
            return work(self.viewer.editor)
        except ConflictError as exc:
            viewer = self.viewer
            retry = partial(work, viewer.editor)
            return resolve_conflict(
                viewer, viewer.editor, exc, retry, viewer.refresh_overlay, viewer.show_status
            )
        except VruError as exc:
            self.viewer.show_status(str(exc))
            return None

    def edit_each(self, label: str, ids: list[int], one: Callable[[AnnotationEditor, int], T]) -> list[T]:
        """``one(editor, id)`` for each id as one undo step ``label``; a refused one takes back all."""
        if not ids:
            return []

        def work(editor: AnnotationEditor) -> list[T]:
            with editor.grouped(label):
                return [one(editor, item) for item in ids]

        return self.edit(work) or []

    def current_class(self) -> str:
        assert self.viewer.video is not None
        return str(self.viewer.controls.class_combo.currentData() or self.viewer.video.vru_classes[0])

    def _selected(self, kind: str) -> list[int]:
        return self.viewer.view.selected_ids(kind)

    def _select(self, kind: str, ids: list[int]) -> None:
        self.viewer.view.select(kind, ids)

    def _on_box_drawn(self, rect: QRectF) -> None:
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        new_id = self.edit(lambda e: e.add_box(self.viewer.current, box, self.current_class()))
        if isinstance(new_id, int):
            self._select(ANNOTATION, [new_id])

    def _on_box_edited(self, annotation_id: int, box: tuple[float, float, float, float]) -> None:
        # After the mouse event has returned: saving redraws the overlay, which replaces the item.
        QTimer.singleShot(0, lambda: self.edit(lambda e: e.move_box(annotation_id, box)))

    def delete_selected(self) -> None:
        selected = self._selected(ANNOTATION)
        region = self.viewer.view.regions.selected
        if not selected and region is not None:
            self.viewer.regions.delete(region)
            return
        self.edit_each(f"Delete {_boxes(selected)}", selected, lambda e, i: e.delete_box(i))

    def set_class_key(self, position: int) -> None:
        video = self.viewer.video
        if video is None or position >= len(video.vru_classes):
            return
        name = video.vru_classes[position]
        selected = self._selected(ANNOTATION)
        if not selected:
            self.viewer.controls.class_combo.setCurrentIndex(position)
            return
        self.edit_each(f"Change {_boxes(selected)} to {name}", selected, lambda e, i: e.set_class(i, name))
        self._select(ANNOTATION, selected)

    def toggle_flag(self, flag: str) -> None:
        editor = self.viewer.editor
        if editor is None:
            return
        selected = self._selected(ANNOTATION)
        views = {view.id: view for view in editor.frame_annotations(self.viewer.current)}
        shown = [annotation_id for annotation_id in selected if annotation_id in views]
        wanted = {i: not getattr(views[i], flag) for i in shown}
        values = set(wanted.values())
        label = (
            f"Mark {_boxes(shown)} {'' if values == {True} else 'not '}{flag}"
            if len(values) == 1
            else f"Toggle {flag} on {_boxes(shown)}"
        )
        self.edit_each(label, shown, lambda e, i: e.set_flags(i, **{flag: wanted[i]}))
        self._select(ANNOTATION, selected)

    def accept_selected(self) -> None:
        selected = self._selected(DETECTION)
        label = f"Accept {counted(len(selected), 'detection', 'detections')}"
        created = self.edit_each(label, selected, lambda e, i: e.accept_detection(i))
        self._select(ANNOTATION, created)
        editor, frame = self.viewer.editor, self.viewer.current
        if created and editor is not None and not editor.is_reviewed(frame):
            self.viewer.show_status(
                f"Accepted {counted(len(created), 'detection', 'detections')}. Frame {frame}"
                " is not reviewed, so its boxes are not ground truth yet: press F once every box is right."
            )

    def reject_selected(self) -> None:
        selected = self._selected(DETECTION)
        label = f"Reject {counted(len(selected), 'detection', 'detections')}"
        self.edit_each(label, selected, lambda e, i: e.reject_detection(i))

    def accept_all(self) -> None:
        viewer = self.viewer
        if viewer.runs.session_id is None:
            viewer.show_status("Choose a detection run first.")
            return
        frame, session_id, minimum = (
            viewer.current,
            viewer.runs.session_id,
            viewer.controls.confidence_spin.value(),
        )
        mark = get_setting(viewer.db, ACCEPT_ALL_MARKS_REVIEWED)
        self.edit(lambda e: e.accept_all_detections(frame, session_id, minimum, mark_reviewed=mark))

    def copy_to_next(self) -> None:
        viewer = self.viewer
        if viewer.table is None or viewer.current >= len(viewer.table) - 1:
            return
        if self.edit(lambda e: e.copy_to_next_frame(viewer.current)) is not None:
            viewer.step(1)

    def ask_propagate(self) -> None:
        if len(self._selected(ANNOTATION)) != 1:
            self.viewer.show_status("Select one box to propagate.")
            return
        frames, ok = QInputDialog.getInt(
            self.viewer,
            "Propagate box",
            "Copy the box forward this many frames:",
            self.propagate_frames,
            1,
            100_000,
        )
        if ok:
            self.propagate(frames)

    def propagate(self, frames: int) -> None:
        selected = self._selected(ANNOTATION)
        if len(selected) != 1:
            self.viewer.show_status("Select one box to propagate.")
            return
        self.propagate_frames = frames
        self.edit(lambda e: e.propagate(selected[0], frames))

    def set_outside(self) -> None:
        selected = self._selected(ANNOTATION)
        label = f"End {counted(len(selected), 'track', 'tracks')} here"
        self.edit_each(label, selected, lambda e, i: e.set_outside(i))

    def toggle_reviewed(self) -> None:
        editor, frame = self.viewer.editor, self.viewer.current
        if editor is None:
            return
        reviewed = not editor.is_reviewed(frame)
        self.edit(lambda e: e.set_reviewed(frame, reviewed))
        self.viewer.controls.reviewed_action.setChecked(editor.is_reviewed(frame))

    def undo(self) -> None:
        self.edit(lambda e: e.undo())

    def redo(self) -> None:
        self.edit(lambda e: e.redo())
