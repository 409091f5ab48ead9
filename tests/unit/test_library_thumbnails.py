"""Thumbnails: one decoded frame, cached by fingerprint, written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import cv2

from vru_desktop.library.thumbnails import ThumbnailRequest, make_thumbnails, thumbnail_path
from vru_desktop.media.probe import probe


def _request(path: Path) -> ThumbnailRequest:
    info = probe(path)
    return ThumbnailRequest(info.fingerprint, path, info.kind, info.frame_count)


def test_thumbnails_are_cached_jpegs_named_by_fingerprint(
    tmp_path: Path, make_video, shared_data: Path
) -> None:
    cache = tmp_path / "cache"
    requests = [
        _request(make_video("a.mp4", 40, size=(320, 180))),
        _request(shared_data / "mot17_mini" / "train" / "MOT17-05-FRCNN" / "img1"),
    ]
    seen: list[tuple[int, int, str]] = []
    made = make_thumbnails(requests, cache, progress=lambda *args: seen.append(args))
    assert seen == [(1, 2, requests[0].fingerprint), (2, 2, requests[1].fingerprint)]
    for request in requests:
        path = thumbnail_path(cache, request.fingerprint)
        assert made[request.fingerprint] == path
        image = cv2.imread(str(path))
        assert image.shape[1] == 160
    assert cv2.imread(str(made[requests[0].fingerprint])).shape[0] == 90  # 320x180 keeps its aspect
    assert cv2.imread(str(made[requests[1].fingerprint])).shape[0] == 120  # 640x480
    assert sorted(p.name for p in (cache / "thumbnails").iterdir()) == sorted(
        f"{r.fingerprint}.jpg" for r in requests
    )  # no temporary files left


def test_undecodable_video_gets_no_thumbnail_and_the_rest_do(tmp_path: Path, make_video) -> None:
    good = _request(make_video("good.mp4", 5))
    gone = ThumbnailRequest("f" * 64, tmp_path / "gone.mp4", "file", 10)
    made = make_thumbnails([gone, good], tmp_path / "cache")
    assert list(made) == [good.fingerprint]
    assert not thumbnail_path(tmp_path / "cache", gone.fingerprint).exists()
