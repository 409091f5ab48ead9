"""The validation report's count axes (detections, boxes per frame) tick on whole numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from vru_desktop.evaluation.report import histogram_plot, timeline_plot


def _y_ticks(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end">([^<]*)</text>', svg)


@pytest.mark.parametrize("peak", [0, 1, 2, 3, 7, 12, 48, 240, 1234])
def test_count_axes_have_whole_number_ticks(peak: int) -> None:
    edges = np.linspace(0, 1, 21)
    hist = {"edges": edges, "tp": np.full(20, peak), "fp": np.zeros(20, dtype=int)}
    line = {key: np.array([0, peak, 1]) for key in ("tp", "fp", "fn")}
    for svg in (histogram_plot(hist, 0.25), timeline_plot(line, np.array([0.0, 0.04, 0.08]))):
        ticks = _y_ticks(svg)
        assert len(ticks) == 6 and all(t.isdigit() for t in ticks), ticks
        assert int(ticks[-1]) >= peak
