"""Comparing the run shown with another run of the same video: what each found that the other did not,
at the current confidence; clicking a difference asks to open the viewer on its frame."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vru_desktop.detection.runs import list_runs
from vru_desktop.evaluation.compare import DIFFERENCE_KINDS, Comparison, compare_runs
from vru_desktop.evaluation.run import RunEvaluation, evaluate_run
from vru_desktop.jobs.operations import Operations
from vru_desktop.store.db import Database
from vru_desktop.store.models import RunStatus


class ComparePanel(QWidget):
    """``comparison``: the one shown (``None``: none). ``openRequested(video_id, frame, highlight)``."""

    openRequested = Signal(int, int, object)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.result: RunEvaluation | None = None
        self.conf = 0.0
        self.comparison: Comparison | None = None
        self._bases: dict[tuple[int, float], RunEvaluation] = {}
        self._ops = Operations(self)
        self.compare_combo = QComboBox()
        self.compare_combo.currentIndexChanged.connect(self._compare)
        self.compare_label = QLabel("Choose an earlier run of the same video to compare with.")
        self.compare_table = QTableWidget(0, 5)
        self.compare_table.setHorizontalHeaderLabels(["Difference", "Frame", "Class", "Score", "Box"])
        self.compare_table.verticalHeader().hide()
        self.compare_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.compare_table.horizontalHeader().setStretchLastSection(True)
        self.compare_table.cellClicked.connect(self._difference_clicked)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Compare with"))
        row.addWidget(self.compare_combo, 1)
        layout.addLayout(row)
        layout.addWidget(self.compare_label)
        layout.addWidget(self.compare_table)

    def set_run(self, result: RunEvaluation | None) -> None:
        """List the other runs of ``result``'s video to compare with (``None``: no run shown)."""
        self.result = result
        if result is None:
            return
        data = result.data
        others = [
            r.id
            for r in list_runs(self.db, video_id=data.video_id)
            if r.id != data.session_id and r.status != RunStatus.CREATED
        ]
        self.compare_combo.blockSignals(True)
        self.compare_combo.clear()
        self.compare_combo.addItem("(no comparison)", None)
        for run_id in others:
            self.compare_combo.addItem(f"run #{run_id}", run_id)
        self.compare_combo.blockSignals(False)
        self.comparison = None
        self._bases = {}
        self.compare_table.setRowCount(0)

    def set_conf(self, conf: float) -> None:
        """Compare at confidence ``conf`` (again, where a comparison is shown)."""
        self.conf = conf
        if self.comparison is not None:
            self._compare()

    def _compare(self) -> None:
        base_id = self.compare_combo.currentData()
        if self.result is None or base_id is None:
            self._ops.cancel("compare")
            self.comparison = None
            self.compare_table.setRowCount(0)
            return
        r, db, conf = self.result, self.db, self.conf
        key = (base_id, r.iou)
        base = self._bases.get(key)

        def work(_task: object) -> tuple[RunEvaluation, Comparison]:
            evaluated = base if base is not None else evaluate_run(db, base_id, iou=r.iou)
            return evaluated, compare_runs(evaluated, r.with_conf(conf))

        self._ops.run(
            work,
            on_success=lambda done: self._compared(key, *done),
            on_failure=self.compare_label.setText,
            newest="compare",
        )

    def _compared(self, key: tuple[int, float], base: RunEvaluation, comparison: Comparison) -> None:
        if self.result is None or self.compare_combo.currentData() != key[0]:
            return
        self._bases = {key: base}
        self.comparison = c = comparison
        counts = ", ".join(f"{k} {c.count(k)}" for k in DIFFERENCE_KINDS)
        self.compare_label.setText(
            f"Run #{c.new_run} against run #{c.base_run} on {c.frames} frames: TP {c.base_tp} → {c.new_tp}, "
            f"FP {c.base_fp} → {c.new_fp}. {counts}."
        )
        self.compare_table.setRowCount(len(c.differences))
        for row, diff in enumerate(c.differences):
            score = "" if diff.score is None else f"{diff.score:.3f}"
            box = ", ".join(f"{v:.0f}" for v in diff.box)
            for col, value in enumerate((diff.kind, diff.frame, diff.vru_type, score, box)):
                self.compare_table.setItem(row, col, QTableWidgetItem(str(value)))

    def _difference_clicked(self, row: int, _column: int) -> None:
        if self.comparison is None or self.result is None:
            return
        diff = self.comparison.differences[row]
        self.openRequested.emit(
            self.result.data.video_id,
            diff.frame,
            {"box": list(diff.box), "label": f"{diff.kind}: {diff.vru_type}"},
        )
