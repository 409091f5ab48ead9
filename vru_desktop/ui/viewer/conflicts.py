"""What the viewer does when someone else changed the boxes an edit was about to change.

The editor refused the edit with nothing written (:class:`~vru_desktop.errors.ConflictError`). The
dialog shows the other person's change; the user re-applies the edit on top of it, or drops the
edit and the frame's boxes are read again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtWidgets import QMessageBox, QWidget

from vru_desktop.annotations.editor import AnnotationEditor
from vru_desktop.annotations.views import ConflictView
from vru_desktop.errors import ConflictError, VruError

T = TypeVar("T")


def describe(view: ConflictView) -> str:
    """One line on what the other person did to a box."""
    where = f"Box {view.id}" + (f" on frame {view.frame}" if view.frame is not None else "")
    who = f" by {view.by}" if view.by else ""
    when = f" at {view.at.strftime('%H:%M:%S')}" if view.at is not None else ""
    if view.version is None:
        return f"{where}: deleted{who}."
    if view.box is None:
        return f"{where}: its track now ends here{who}{when}."
    x1, y1, x2, y2 = view.box
    return f"{where}: now {view.vru_type} at ({x1:.0f}, {y1:.0f})–({x2:.0f}, {y2:.0f}){who}{when}."


class ConflictDialog(QMessageBox):
    """The other person's change, and the choice: re-apply the edit on top of it, or drop it."""

    def __init__(self, parent: QWidget | None, error: ConflictError) -> None:
        super().__init__(parent)
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle("Someone else changed these boxes")
        self.setText(error.message)
        changes = [describe(view) for view in error.conflicts if isinstance(view, ConflictView)]
        self.setInformativeText(
            "\n".join(changes[:10] + ([f"… and {len(changes) - 10} more."] if len(changes) > 10 else []))
        )
        self.reapply_button = self.addButton("Re-apply my edit", QMessageBox.ButtonRole.AcceptRole)
        self.drop_button = self.addButton("Drop my edit", QMessageBox.ButtonRole.RejectRole)
        self.reapply_button.setToolTip("Make your edit again on top of their change (yours wins).")
        self.drop_button.setToolTip("Keep their change and show the frame's boxes as they are now.")
        self.setDefaultButton(self.drop_button)
        self.setEscapeButton(self.drop_button)

    def reapply(self) -> bool:
        """Ask; whether the user chose to re-apply the edit."""
        self.exec()
        return self.clickedButton() is self.reapply_button


def resolve_conflict(
    parent: QWidget,
    editor: AnnotationEditor,
    error: ConflictError,
    retry: Callable[[], T],
    reload: Callable[[], None],
    report: Callable[[str], None],
) -> T | None:
    """Ask what to do with the refused edit; re-apply it with ``retry`` (asking again if yet another
    change came first) or drop it. The frame's boxes are read again (``reload``) either way; a
    re-applied edit that fails otherwise goes to ``report``."""
    while True:
        again = ConflictDialog(parent, error).reapply()
        editor.take_theirs(error, write_over=again)
        if not again:
            reload()
            report("Your edit was dropped; the frame shows the boxes as they are now.")
            return None
        try:
            return retry()
        except ConflictError as newer:
            error = newer
        except VruError as exc:
            reload()
            report(str(exc))
            return None
