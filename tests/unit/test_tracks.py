"""Track interpolation between keyframes, as the editor and the importers use it."""

from __future__ import annotations

import pytest

from vru_desktop.annotations.tracks import Keyframe, TrackBox, interpolate_track

pytestmark = pytest.mark.usefixtures("backend")


def test_linear_between_keyframes_in_frame_order() -> None:
    points = interpolate_track([Keyframe(4, (40, 0, 50, 10)), Keyframe(0, (0, 0, 10, 10))])
    assert [p.frame for p in points] == [0, 1, 2, 3, 4]
    assert [p.is_keyframe for p in points] == [True, False, False, False, True]
    assert [p.box[0] for p in points] == pytest.approx([0, 10, 20, 30, 40])
    assert points[2].box == pytest.approx((20, 0, 30, 10))


def test_outside_keyframe_leaves_a_gap_until_the_next_keyframe() -> None:
    points = interpolate_track(
        [Keyframe(0, (0, 0, 2, 2)), Keyframe(2, (2, 0, 4, 2), outside=True), Keyframe(5, (5, 0, 7, 2))]
    )
    assert [(p.frame, p.is_keyframe, p.outside) for p in points] == [
        (0, True, False),
        (1, False, False),
        (2, True, True),
        (5, True, False),
    ]
    assert points[1].box == pytest.approx((1, 0, 3, 2))


def test_a_later_keyframe_on_the_same_frame_wins_and_a_single_keyframe_is_the_track() -> None:
    points = interpolate_track([Keyframe(3, (0, 0, 1, 1)), Keyframe(3, (5, 5, 6, 6))])
    assert points == [TrackBox(3, (5, 5, 6, 6), True, False)]
    assert interpolate_track([]) == []
