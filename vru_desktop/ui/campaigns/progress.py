"""A campaign's progress in one line: how many of its videos are done (and how many of those
reused a finished run), running, queued, failed or not launched, and the time left over all of them.

The time left is the frames still to detect, over every unfinished run, at the speed a run last
reported (``RunQueue.runProgress``; kept between runs); a queued video counts its frames at the
campaign's stride and last frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from vru_desktop.campaigns.definition import CampaignInfo
from vru_desktop.detection.pipeline import eta_text, frames_to_process
from vru_desktop.library.views import video_details
from vru_desktop.store.db import Database
from vru_desktop.store.models import RunStatus


@dataclass(frozen=True)
class LiveRun:
    """The last progress a running run reported."""

    done: int
    total: int
    fps: float


def progress_line(
    info: CampaignInfo, frame_counts: dict[int, int], live: dict[int, LiveRun], speed: float | None
) -> str:
    """``3 done (2 reused) · 1 running · 2 queued · 0 failed · about 1:05 left`` for ``info``."""
    stride = int(info.config.get("stride", 1) or 1)
    stop = info.config.get("stop_frame")
    done = reused = running = queued = failed = unlaunched = 0
    frames_left = 0
    for v in info.videos:
        status = v.run_status
        if status == RunStatus.COMPLETED:
            done += 1
            reused += v.reused
            continue
        if status is None:
            unlaunched += 1
            continue
        if status in (RunStatus.CREATED, RunStatus.RUNNING, RunStatus.PAUSED):
            queued += status == RunStatus.CREATED
            running += status != RunStatus.CREATED
            if v.run_id in live:
                frames_left += max(0, live[v.run_id].total - live[v.run_id].done)
            else:
                count = frame_counts.get(v.video_id or -1, 0)
                end = count if stop is None else min(count, int(stop))
                frames_left += round(frames_to_process(end, stride) * (1.0 - v.progress))
        else:
            failed += 1
    parts = [f"{done} done ({reused} reused)", f"{running} running", f"{queued} queued", f"{failed} failed"]
    if unlaunched:
        parts.append(f"{unlaunched} not launched")
    if running or queued:
        parts.append(f"about {eta_text(frames_left / speed)} left" if speed else "time left unknown yet")
    return " · ".join(parts)


class ProgressTracker:
    """What the run queue reported of running runs, and the videos' frame counts, for
    :func:`progress_line`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.live: dict[int, LiveRun] = {}  # run id → its last reported progress
        self.speed: float | None = None  # frames per second a run last reported
        self.frame_counts: dict[int, int] = {}

    def progressed(self, run_id: int, done: int, total: int, _frame: int, fps: float, _eta: float) -> None:
        self.live[run_id] = LiveRun(done, total, fps)
        self.speed = fps if fps > 0 else self.speed

    def finished(self, run_id: int) -> None:
        self.live.pop(run_id, None)

    def line(self, info: CampaignInfo) -> str:
        for v in info.videos:
            if v.video_id is not None and v.video_id not in self.frame_counts:
                details = video_details(self.db, v.video_id)
                self.frame_counts[v.video_id] = details.frame_count if details is not None else 0
        return progress_line(info, self.frame_counts, self.live, self.speed)
