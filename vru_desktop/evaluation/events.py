"""Event-level validation of a camera under test: its own detection event log against ground truth.

**Import** (:func:`import_device_events`): a CSV (comma, semicolon or tab separated, with a header)
or a JSON file (a list of objects, or an object holding one under ``events``/``detections``/``data``).
Field names are matched loosely (case, ``_``, ``-`` and spaces ignored):

* time: ``timestamp``, ``time``, ``ts``, ``t``, ``seconds``, ``time_s`` — seconds from the start of
  the video as a number, or ``[HH:]MM:SS[.fff]``; a name ending in ``ms`` (``timestamp_ms``) means
  milliseconds;
* type: ``type``, ``vru_type``, ``class``, ``class_name``, ``label``, ``category`` (optional);
* confidence: ``confidence``, ``score``, ``conf`` (optional); id: ``id``, ``event_id`` (optional);
* video: ``videoId``, ``video_id``, ``video`` (optional): rows naming another video (by id or file
  name) are skipped.

A file imported again replaces the events it brought before; a file with a bad row changes nothing.

**Validation** (:func:`evaluate_events`): ground-truth VRU presence is cut into episodes: one per
track (its first to last reviewed frame), and for boxes without a track one per run of consecutive
reviewed frames holding a box of the type. An episode is *hit* when an event falls within
``[start - tolerance, end + tolerance]`` (of the same type with ``match_type``); its latency is the
first such event's time minus the episode start. An event near a reviewed frame (within the
tolerance) that hits no episode is a *false alarm*; false alarms per hour use the reviewed duration.
Events far from any reviewed frame are not judged.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select

from vru_desktop.datasets.formats.common import parse_float, read_file_text, shown
from vru_desktop.errors import FormatError, NotFoundError, ValidationError
from vru_desktop.files import check_regular_file
from vru_desktop.media.frames import FrameTable
from vru_desktop.store.db import Database
from vru_desktop.store.models import VRU_TYPES, Annotation, DeviceEvent, FrameIndex, ReviewedFrame, Video

_ALIASES = {
    "timestamp": ("timestamp", "time", "ts", "t", "seconds", "times", "timestampms", "timems", "tsms"),
    "type": ("type", "vrutype", "class", "classname", "label", "category", "objecttype"),
    "confidence": ("confidence", "score", "conf", "probability"),
    "id": ("id", "eventid", "eventuuid", "uuid"),
    "video": ("videoid", "video", "videoname", "videofile"),
}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.strip().lower())


@dataclass(frozen=True)
class ParsedEvent:
    timestamp: float
    vru_type: str
    confidence: float | None
    external_id: str | None


def _find_fields(names: list[str]) -> dict[str, str]:
    normalised = {_norm(n): n for n in names}
    found = {}
    for key, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in normalised:
                found[key] = normalised[alias]
                break
    return found


def _seconds(value: Any, millis: bool, where: str) -> float:
    parts = value.strip().split(":") if isinstance(value, str) else [value]
    if not 1 <= len(parts) <= 3:
        raise FormatError(
            f"{where}: time {shown(value)} is neither seconds nor [HH:]MM:SS.",
            hint="Give times in seconds from the start of the video.",
        )
    seconds = sum(
        parse_float(p, where, "time (seconds or [HH:]MM:SS)") * 60**i for i, p in enumerate(reversed(parts))
    )
    if not math.isfinite(seconds):
        raise FormatError(f"{where}: time {shown(value)} is too large to be a time in a video.")
    return seconds / 1000.0 if millis else seconds


def _vru_type(value: Any) -> str:
    text = str(value or "").strip().lower().replace(" ", "_").replace("-", "_")
    if not text:
        return "vru"
    for known in VRU_TYPES:
        if text in (known, known.rstrip("s"), known.split("_")[0]):
            return known
    return text


def _records(path: Path) -> list[dict[str, Any]]:
    raw = read_file_text(path)
    stripped = raw.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise FormatError(f"{path}: not valid JSON ({exc}).") from exc
        except RecursionError:
            raise FormatError(f"{path}: JSON nested too deeply to be an event log.") from None
        if isinstance(document, dict):
            document = next(
                (
                    document[k]
                    for k in ("events", "detections", "data", "items")
                    if isinstance(document.get(k), list)
                ),
                None,
            )
        if not isinstance(document, list) or not all(isinstance(r, dict) for r in document):
            raise FormatError(
                f"{path}: expected a list of event objects (or one under 'events').",
                hint='Example: [{"timestamp": 1.2, "type": "pedestrian"}].',
            )
        return document
    try:
        dialect = csv.Sniffer().sniff(raw[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(raw), dialect=dialect)
    try:
        return list(reader)
    except csv.Error as exc:
        raise FormatError(f"{path}: line {reader.reader.line_num}: not valid CSV ({exc}).") from None


def parse_event_log(
    path: str | Path, *, video_id: int | None = None, video_name: str = ""
) -> list[ParsedEvent]:
    """Read an event log; rows naming another video are skipped."""
    path = Path(path)
    check_regular_file(path, NotFoundError)
    records = _records(path)
    if not records:
        return []
    names = list({k for r in records for k in r if isinstance(k, str)})
    fields = _find_fields(names)
    if "timestamp" not in fields:
        raise FormatError(
            f"{path}: no time field (looked for timestamp, time, ts, seconds; "
            f"found {', '.join(sorted(names))}).",
            hint="Name the column 'timestamp' (seconds from the start of the video).",
        )
    millis = _norm(fields["timestamp"]).endswith("ms")
    wanted = {str(video_id), video_name, Path(video_name).stem} - {"", "None"}
    events = []
    is_csv = path.suffix.lower() != ".json"
    for number, record in enumerate(records, start=2 if is_csv else 1):
        where = f"{path.name}, {'row' if is_csv else 'item'} {number}"
        video = record.get(fields["video"]) if "video" in fields else None
        if video not in (None, "") and wanted and str(video).strip() not in wanted:
            continue
        stamp = record.get(fields["timestamp"])
        if stamp in (None, ""):
            raise FormatError(f"{where}: the time is empty.")
        confidence = record.get(fields["confidence"]) if "confidence" in fields else None
        conf_value = None if confidence in (None, "") else parse_float(confidence, where, "confidence")
        ext = record.get(fields["id"]) if "id" in fields else None
        events.append(
            ParsedEvent(
                timestamp=_seconds(stamp, millis, where),
                vru_type=_vru_type(record.get(fields["type"]) if "type" in fields else ""),
                confidence=conf_value,
                external_id=None if ext in (None, "") else str(ext),
            )
        )
    return events


def import_device_events(db: Database, video_id: int, path: str | Path, *, offset: float = 0.0) -> int:
    """Store the events of ``path`` for ``video_id`` (``offset`` seconds added to every time)."""
    if not math.isfinite(offset):
        raise ValidationError(f"The offset {offset:g} is not a finite number of seconds.")
    path = Path(path)
    with db.session() as session:
        video = session.get(Video, video_id)
        if video is None:
            raise NotFoundError(f"There is no video {video_id}.", hint="See 'vru-desktop videos'.")
        name = video.filename
    events = parse_event_log(path, video_id=video_id, video_name=name)
    with db.transaction() as session:
        session.execute(
            delete(DeviceEvent).where(DeviceEvent.video_id == video_id, DeviceEvent.source == path.name)
        )
        session.add_all(
            DeviceEvent(
                video_id=video_id,
                source=path.name,
                timestamp=e.timestamp + offset,
                vru_type=e.vru_type,
                confidence=e.confidence,
                external_id=e.external_id,
            )
            for e in events
        )
    return len(events)


@dataclass
class Episode:
    start: float
    end: float
    vru_type: str
    track_id: int | None
    hit_time: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.hit_time is None else self.hit_time - self.start


@dataclass
class EventValidation:
    tolerance: float
    match_type: bool
    reviewed_seconds: float
    episodes: list[Episode]
    events_judged: int
    events_outside: int
    false_alarm_times: list[float] = field(default_factory=list)

    @classmethod
    def pooled(cls, validations: list[EventValidation]) -> EventValidation:
        """Several videos' validations as one: their episodes, judged events and false alarms
        together over their summed reviewed duration (all validated with the same rules)."""
        first = validations[0]
        return cls(
            first.tolerance,
            first.match_type,
            sum(v.reviewed_seconds for v in validations),
            [e for v in validations for e in v.episodes],
            sum(v.events_judged for v in validations),
            sum(v.events_outside for v in validations),
            [t for v in validations for t in v.false_alarm_times],
        )

    @property
    def hits(self) -> int:
        return sum(e.hit_time is not None for e in self.episodes)

    @property
    def hit_rate(self) -> float | None:
        return self.hits / len(self.episodes) if self.episodes else None

    @property
    def false_alarms(self) -> int:
        return len(self.false_alarm_times)

    @property
    def false_alarms_per_hour(self) -> float | None:
        return self.false_alarms / (self.reviewed_seconds / 3600.0) if self.reviewed_seconds > 0 else None

    def latencies(self) -> np.ndarray:
        return np.array([e.latency for e in self.episodes if e.latency is not None], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        lat = self.latencies()
        stats = (
            {
                "mean": float(lat.mean()),
                "median": float(np.median(lat)),
                "p90": float(np.percentile(lat, 90)),
                "p95": float(np.percentile(lat, 95)),
                "min": float(lat.min()),
                "max": float(lat.max()),
            }
            if len(lat)
            else None
        )
        return {
            "tolerance_s": self.tolerance,
            "match_type": self.match_type,
            "reviewed_seconds": self.reviewed_seconds,
            "episodes": len(self.episodes),
            "hits": self.hits,
            "hit_rate": self.hit_rate,
            "latency_s": stats,
            "latencies_s": lat.tolist(),
            "events_judged": self.events_judged,
            "events_not_judged": self.events_outside,
            "false_alarms": self.false_alarms,
            "false_alarms_per_hour": self.false_alarms_per_hour,
        }


def device_event_count(db: Database, video_id: int) -> int:
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(DeviceEvent).where(DeviceEvent.video_id == video_id)
            )
            or 0
        )


def evaluate_events(
    db: Database, video_id: int, *, tolerance: float = 1.0, match_type: bool = False
) -> EventValidation:
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValidationError(
            f"The tolerance {tolerance:g} is not 0 or more seconds (negative, NaN or infinite).",
            hint="Use e.g. --tolerance 1.0.",
        )
    with db.session() as session:
        video = session.get(Video, video_id)
        if video is None:
            raise NotFoundError(f"There is no video {video_id}.", hint="See 'vru-desktop videos'.")
        fps = video.fps or 0.0
        index = session.get(FrameIndex, video_id)
        times = FrameTable.from_bytes(index.times, index.keyframes).times if index is not None else None
        reviewed = np.array(
            session.scalars(
                select(ReviewedFrame.frame_number)
                .where(ReviewedFrame.video_id == video_id)
                .order_by(ReviewedFrame.frame_number)
            ).all(),
            dtype=np.int64,
        )
        boxes = session.execute(
            select(Annotation.frame_number, Annotation.vru_type, Annotation.track_id)
            .join(
                ReviewedFrame,
                (ReviewedFrame.video_id == Annotation.video_id)
                & (ReviewedFrame.frame_number == Annotation.frame_number),
            )
            .where(
                Annotation.video_id == video_id, Annotation.validated.is_(True), Annotation.outside.is_(False)
            )
        ).all()
        events = session.execute(
            select(DeviceEvent.timestamp, DeviceEvent.vru_type)
            .where(DeviceEvent.video_id == video_id)
            .order_by(DeviceEvent.timestamp)
        ).all()
    if not len(reviewed):
        raise ValidationError(
            f"Video {video_id} has no reviewed frames, so there is no ground truth to compare events with.",
            hint="Review frames in the viewer first.",
        )

    def time_of(frames: np.ndarray) -> np.ndarray:
        if times is not None and len(times):
            return times[np.clip(frames, 0, len(times) - 1)]
        return frames / (fps or 1.0)

    position = {int(f): i for i, f in enumerate(reviewed)}
    episodes: list[Episode] = []
    tracks: dict[int, list[tuple[int, str]]] = {}
    untracked: dict[str, set[int]] = {}
    for frame, vru_type, track in boxes:
        if track is not None:
            tracks.setdefault(track, []).append((frame, vru_type))
        else:
            untracked.setdefault(vru_type, set()).add(position[frame])
    for track, rows in sorted(tracks.items()):
        frames = np.array([f for f, _ in rows])
        types = [t for _, t in rows]
        start, end = time_of(np.array([frames.min(), frames.max()]))
        episodes.append(Episode(float(start), float(end), max(set(types), key=types.count), track))
    for vru_type, positions in sorted(untracked.items()):
        ordered = np.array(sorted(positions))
        breaks = np.flatnonzero(np.diff(ordered) > 1)
        for first, last in zip(
            np.concatenate([[0], breaks + 1]), np.concatenate([breaks, [len(ordered) - 1]]), strict=True
        ):
            start, end = time_of(reviewed[[ordered[first], ordered[last]]])
            episodes.append(Episode(float(start), float(end), vru_type, None))

    reviewed_times = time_of(reviewed)
    period = 1.0 / fps if fps > 0 else 0.0
    judged = 0
    outside = 0
    false_alarms = []
    for timestamp, vru_type in events:
        nearest = np.min(np.abs(reviewed_times - timestamp))
        if nearest > max(tolerance, period):
            outside += 1
            continue
        judged += 1
        hit_any = False
        for episode in episodes:
            if match_type and episode.vru_type != vru_type:
                continue
            if episode.start - tolerance <= timestamp <= episode.end + tolerance:
                hit_any = True
                if episode.hit_time is None or timestamp < episode.hit_time:
                    episode.hit_time = float(timestamp)
        if not hit_any:
            false_alarms.append(float(timestamp))
    reviewed_seconds = len(reviewed) * period
    return EventValidation(tolerance, match_type, reviewed_seconds, episodes, judged, outside, false_alarms)
