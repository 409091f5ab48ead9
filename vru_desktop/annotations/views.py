"""Read-only views of annotations, detections, runs and the timeline, handed to the UI (no Qt).

They are frozen snapshots: the UI never holds ORM rows, so a view stays valid after the session that
read it is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class AnnotationView:
    """One box on one frame (outside rows are never shown, so never viewed)."""

    id: int
    frame: int
    box: Box
    vru_type: str
    track_id: int | None
    validated: bool
    occluded: bool
    truncated: bool
    is_keyframe: bool
    detection_event_id: int | None
    confidence: float | None
    #: Visible share 0…1 (``None``: not known) and Caltech-style ignore, for the label.
    visibility: float | None = None
    ignore: bool = False
    #: Occlusion level 0 none, 1 partial, 2 heavy and truncated share 0…1 (``None``: not known).
    occlusion: int | None = None
    truncation: float | None = None
    #: Where the box came from: manual, detection, import:coco …
    source: str = "manual"
    #: The row's version when it was read (edits check it).
    version: int = 1


@dataclass(frozen=True)
class ConflictView:
    """A box someone else changed or deleted after an editor read it, as it is now."""

    id: int
    #: Its frame (``None``: deleted, and the frame was not known).
    frame: int | None
    #: Who changed it and when (``None``: not known).
    by: str | None
    at: datetime | None
    #: Its version now; ``None``: deleted.
    version: int | None
    #: Its box and class now (``box`` ``None``: deleted or hidden from this frame on).
    box: Box | None
    vru_type: str | None


@dataclass(frozen=True)
class DetectionView:
    """One detection of a run on one frame, with the review decision taken on it."""

    id: int
    frame: int
    box: Box
    vru_type: str
    confidence: float
    track_id: int | None
    review: str | None  # None (open) or a Review


@dataclass(frozen=True)
class SessionView:
    """A detection run on the video: its id, a label for a chooser and its state."""

    id: int
    label: str
    status: str


@dataclass(frozen=True, eq=False)
class TimelineSummary:
    """What the timeline draws: per VRU type, the sorted frame indices with at least one box.

    ``annotations`` counts every non-outside annotation row (keyframes and interpolated rows);
    ``detections`` the events of the chosen run (empty without one). ``reviewed`` holds the reviewed
    frames as inclusive ``(start, end)`` ranges in frame order.
    """

    frame_count: int
    annotations: dict[str, np.ndarray] = field(default_factory=dict)
    detections: dict[str, np.ndarray] = field(default_factory=dict)
    reviewed: list[tuple[int, int]] = field(default_factory=list)

    def vru_types(self) -> list[str]:
        """Every VRU type present in annotations or detections, in first-seen order."""
        return list(dict.fromkeys([*self.annotations, *self.detections]))
