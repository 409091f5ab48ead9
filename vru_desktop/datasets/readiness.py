"""The specification's readiness score of a video as a dataset item.

Five criteria, 20 points each: the video has detections, has validated annotations, has ground
truth (its reviewed frames cover at least the project's share of its frames, ``Project.gt_coverage``,
0.9 by default: one reviewed frame of 1 800 is not a ground-truth video), belongs to a project, and
its file is healthy (the file exists and its status is ``ok``). A score of 80 or more is *ready*,
40 or more *partial*, anything less *not ready*.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from vru_desktop.errors import UsageError

POINTS_PER_CRITERION = 20
READY_MIN_SCORE = 80
PARTIAL_MIN_SCORE = 40

READY = "ready"
PARTIAL = "partial"
NOT_READY = "not-ready"
#: The levels, best first.
LEVELS: tuple[str, ...] = (READY, PARTIAL, NOT_READY)

#: What each criterion means, for tooltips and the CLI.
CRITERIA_LABELS: dict[str, str] = {
    "has_detections": "has detections",
    "has_validated_annotations": "has validated annotations",
    "has_ground_truth": "has ground truth (reviewed frames cover the project's share of the video)",
    "has_project": "belongs to a project",
    "file_healthy": "file exists and its status is ok",
}


class Readiness(NamedTuple):
    """Which criteria a video meets; the score and level follow from them."""

    has_detections: bool
    has_validated_annotations: bool
    has_ground_truth: bool
    has_project: bool
    file_healthy: bool

    @property
    def score(self) -> int:
        return POINTS_PER_CRITERION * sum(map(bool, self))

    @property
    def level(self) -> str:
        return level_of(self.score)

    def missing(self) -> list[str]:
        """The criteria not met, in words (what to do to raise the score)."""
        return [CRITERIA_LABELS[name] for name, met in zip(self._fields, self, strict=True) if not met]


def level_of(score: int) -> str:
    if score >= READY_MIN_SCORE:
        return READY
    if score >= PARTIAL_MIN_SCORE:
        return PARTIAL
    return NOT_READY


def coverage_text(coverage: float) -> str:
    """Reviewed coverage as a person reads it: ``0 %``, ``<0.1 %``, ``2.5 %``, ``37 %``, ``100 %``.
    Rounded down (one decimal below 10 %), so a video short of a threshold never reads as meeting it."""
    percent = coverage * 100
    if percent >= 10 or percent == 0:
        return f"{math.floor(percent)} %"
    tenths = math.floor(percent * 10) / 10
    return f"{tenths:.1f} %" if tenths > 0 else "<0.1 %"


def parse_level(text: str) -> str:
    """A level from user input (``ready``, ``partial``, ``not-ready``/``not_ready``/``not ready``)."""
    normalised = text.strip().lower().replace("_", "-").replace(" ", "-")
    if normalised not in LEVELS:
        raise UsageError(f"Unknown readiness '{text}'.", hint=f"Use one of: {', '.join(LEVELS)}.")
    return normalised
