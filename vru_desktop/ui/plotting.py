"""What every pyqtgraph plot of the window shares: whole-number axes for counts and frame numbers, the
legend under the plot (never over the data), and a message in place of an empty plot."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel


class IntegerAxis(pg.AxisItem):
    """An axis of counts or frame numbers: ticks on whole numbers only."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        levels = [
            (spacing, [v for v in values if float(v).is_integer()])
            for spacing, values in super().tickValues(minVal, maxVal, size)
            if spacing >= 1
        ]
        if not any(values for _spacing, values in levels):  # a few units shown: each whole number
            levels = [(1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)])]
        return levels


def legend_below(plot: pg.PlotItem, columns: int = 3) -> pg.LegendItem:
    """A legend in a row under the plot's bottom axis, its entries side by side."""
    legend = pg.LegendItem(colCount=columns, size=(10, 18), labelTextColor="#222")
    legend.setMaximumHeight(30)
    plot.layout.addItem(legend, 4, 1)
    return legend


class EmptyMessage(QLabel):
    """A message over a plot widget that has nothing to show (hidden otherwise)."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        super().__init__(plot)
        self.setObjectName("emptyPlotMessage")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("QLabel { color: #666; background: rgba(255, 255, 255, 225); font-size: 11pt; }")
        self.hide()
        plot.installEventFilter(self)

    def show_message(self, text: str | None) -> None:
        """``text`` over the plot, or nothing (``None``)."""
        self.setText(text or "")
        self.setVisible(bool(text))
        self._fit()

    def _fit(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect().adjusted(24, 28, -24, -28))

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if isinstance(event, QResizeEvent):
            self._fit()
        return False


class CountPlot(pg.PlotWidget):
    """A white plot whose y axis counts things (whole-number ticks), with :attr:`empty` to say when
    there is nothing to draw."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent=parent, background="w", axisItems={"left": IntegerAxis("left")})
        self.empty = EmptyMessage(self)
