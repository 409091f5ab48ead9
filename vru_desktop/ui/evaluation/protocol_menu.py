"""The evaluation's Protocols menu: the pedestrian-detection protocols whose log-average miss rate is
shown, chosen by the user and remembered in the settings."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu, QWidget

from vru_desktop.errors import VruError
from vru_desktop.evaluation.protocols import Protocol, available, describe
from vru_desktop.settings import PROTOCOLS, SELECTED_PROTOCOLS, get_setting, set_setting
from vru_desktop.store.db import Database


class ProtocolMenu(QMenu):
    """``changed()`` after a protocol is chosen or dropped; ``failed(message)`` when the protocols
    setting cannot be read (the built-in protocols are offered then)."""

    changed = Signal()
    failed = Signal(str)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.aboutToShow.connect(self._fill)

    def _known(self) -> dict[str, Protocol]:
        try:
            return available(get_setting(self.db, PROTOCOLS))
        except VruError as exc:
            self.failed.emit(str(exc))
            return available()

    def selected(self) -> list[Protocol]:
        """The protocols chosen in the menu (remembered in the settings), in the menu's order."""
        chosen = set(get_setting(self.db, SELECTED_PROTOCOLS))
        return [p for name, p in self._known().items() if name in chosen]

    def _fill(self) -> None:
        self.clear()
        chosen = set(get_setting(self.db, SELECTED_PROTOCOLS))
        for name, protocol in self._known().items():
            action = self.addAction(protocol.title or name)
            action.setCheckable(True)
            action.setChecked(name in chosen)
            action.setData(name)
            action.setToolTip(f"{describe(protocol)}. {protocol.source}")
            action.toggled.connect(lambda on, n=name: self.set_protocol(n, on))
        self.setToolTipsVisible(True)

    def set_protocol(self, name: str, on: bool) -> None:
        """Choose or drop protocol ``name``."""
        chosen = [n for n in get_setting(self.db, SELECTED_PROTOCOLS) if n != name]
        set_setting(self.db, SELECTED_PROTOCOLS, [*chosen, name] if on else chosen)
        self.changed.emit()
