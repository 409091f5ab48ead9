"""Tracks: keyframes with linear interpolation between them, as CVAT does.

A track is a list of keyframes ``(frame, box, outside)``. Between two consecutive keyframes the box
is interpolated linearly, unless the earlier one is ``outside`` (the object has left; nothing until
the next keyframe). After the last keyframe the track ends (a CVAT export adds an outside keyframe
there only when the source had one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Keyframe:
    frame: int
    box: Box
    outside: bool = False


@dataclass(frozen=True)
class TrackBox:
    """One frame of a track: the box, whether a person placed it, whether it marks the end."""

    frame: int
    box: Box
    is_keyframe: bool
    outside: bool = False


def lerp_box(a: Box, b: Box, t: float) -> Box:
    return (
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
        a[3] + (b[3] - a[3]) * t,
    )


def interpolate_track(keyframes: Iterable[Keyframe]) -> list[TrackBox]:
    """Every frame of a track, from its keyframes (later duplicates of a frame win).

    Outside keyframes are returned too (``outside=True``) so that a track's end survives a round
    trip; they are never ground-truth boxes.
    """
    by_frame: dict[int, Keyframe] = {}
    for key in keyframes:
        by_frame[key.frame] = key
    ordered = [by_frame[f] for f in sorted(by_frame)]
    if not ordered:
        return []
    result: list[TrackBox] = []
    for current, following in zip(ordered, [*ordered[1:], None], strict=True):
        result.append(TrackBox(current.frame, current.box, True, current.outside))
        if current.outside or following is None:
            continue
        span = following.frame - current.frame
        for step in range(1, span):
            result.append(
                TrackBox(current.frame + step, lerp_box(current.box, following.box, step / span), False)
            )
    return result
