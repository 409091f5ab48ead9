"""Video thumbnails: one decoded frame, scaled down, cached as ``<cache>/thumbnails/<fingerprint>.jpg``."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vru_desktop.errors import MediaError

log = logging.getLogger(__name__)

THUMBNAIL_WIDTH = 160


@dataclass(frozen=True)
class ThumbnailRequest:
    """The video a thumbnail is made from (a plain value, safe to hand to a worker thread)."""

    fingerprint: str
    path: Path
    kind: str
    frame_count: int


def thumbnail_path(cache_dir: Path, fingerprint: str) -> Path:
    return cache_dir / "thumbnails" / f"{fingerprint}.jpg"


def make_thumbnail(request: ThumbnailRequest, cache_dir: Path, width: int = THUMBNAIL_WIDTH) -> Path:
    """Decode one frame (a tenth into the video, past black lead-ins, at most frame 30) and cache it.

    Written to a temporary name and renamed, so a reader never sees half a JPEG.
    """
    import cv2

    from vru_desktop.media.frames import iter_frames

    target = thumbnail_path(cache_dir, request.fingerprint)
    if target.is_file():
        return target
    index = min(request.frame_count // 10, 30)  # decoded sequentially from the start: keep it near
    frame = next(iter_frames(request.path, request.kind, start=index, stop=index + 1), None)
    if frame is None or frame.image is None:
        raise MediaError(f"{request.path.name}: no frame could be decoded for a thumbnail.")
    height, source_width = frame.image.shape[:2]
    scaled = cv2.resize(
        frame.image, (width, max(1, round(height * width / source_width))), interpolation=cv2.INTER_AREA
    )
    ok, encoded = cv2.imencode(".jpg", scaled, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise MediaError(f"{request.path.name}: the thumbnail could not be encoded.")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(encoded.tobytes())
    os.replace(temporary, target)
    return target


def make_thumbnails(
    requests: Sequence[ThumbnailRequest],
    cache_dir: Path,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> dict[str, Path]:
    """Make the missing thumbnails; ``progress(done, total, fingerprint)`` after each one that is ready.

    A video that cannot be decoded (missing, broken) simply gets no thumbnail.
    """
    made: dict[str, Path] = {}
    for number, request in enumerate(requests):
        if should_cancel is not None and should_cancel():
            break
        try:
            made[request.fingerprint] = make_thumbnail(request, cache_dir)
        except (MediaError, OSError) as exc:
            log.info("no thumbnail for %s: %s", request.path, exc)
            continue
        if progress is not None:
            progress(number + 1, len(requests), request.fingerprint)
    return made
