"""The detection run loop, shared by the CLI and the window's worker (no Qt here).

One run = one model over one video (a :class:`~vru_desktop.store.models.TestSession`). Frames are
decoded ahead in their own thread into a bounded queue, inferred in batches, mapped to VRU events
and written in batches: each commit holds the batch's events *and* ``last_committed_frame`` in one
transaction, so a run killed at any moment resumes at ``last_committed_frame + 1`` with no
duplicate and no gap. Pause waits on an event (no CPU); stop ends after the batch in hand and keeps
everything computed so far.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from vru_desktop.detection.classmap import DEFAULT_RIDER_THRESHOLD, RawDetection, VruDetection, map_detections
from vru_desktop.detection.models import (
    LoadedModel,
    check_model_file,
    check_tracker_available,
    file_sha256,
    library_versions,
    load_model,
    model_trusted,
    record_class_names,
)
from vru_desktop.errors import MediaError, ModelError, NotFoundError, ValidationError, VruError
from vru_desktop.evaluation.statistics import compute_statistics
from vru_desktop.media.frames import DecodedFrame, FrameTable, iter_frames
from vru_desktop.settings import Locations, unexpected_error_message
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    PROCESSING_STATUS_OF_RUN,
    DetectionEvent,
    DetectorModel,
    RunStatus,
    TestSession,
    Video,
    utcnow,
)

log = logging.getLogger(__name__)

TRACKERS = ("none", "bytetrack")
DEVICES = ("cpu", "cuda")
#: Run states in which a run can be started or continued.
STARTABLE = (RunStatus.CREATED, RunStatus.INTERRUPTED, RunStatus.STOPPED, RunStatus.FAILED)


@dataclass
class RunConfig:
    """What a run does: thresholds, image size, frame stride, device, tracking, batching."""

    conf: float = 0.25
    iou: float = 0.7
    imgsz: int = 640
    stride: int = 1
    device: str = "cpu"
    tracker: str = "none"
    batch: int = 4
    rider_threshold: float = DEFAULT_RIDER_THRESHOLD
    #: Process frames before this index only (``None``: to the end).
    stop_frame: int | None = None
    #: A commit holds at most this many frames, and happens at least this often (seconds).
    commit_frames: int = 32
    commit_seconds: float = 1.0
    #: This many frames in a row that fail to decode fail the run.
    max_consecutive_failures: int = 25

    def validate(self) -> None:
        problems = []
        if not 0.0 < self.conf < 1.0:
            problems.append("confidence must be between 0 and 1")
        if not 0.0 < self.iou < 1.0:
            problems.append("NMS IoU must be between 0 and 1")
        if self.imgsz < 32 or self.imgsz % 32:
            problems.append("image size must be a multiple of 32 (at least 32)")
        if self.stride < 1:
            problems.append("frame stride must be 1 or more")
        if self.device not in DEVICES:
            problems.append(f"device must be one of {', '.join(DEVICES)}")
        if self.tracker not in TRACKERS:
            problems.append(f"tracker must be one of {', '.join(TRACKERS)}")
        if self.batch < 1 or self.commit_frames < 1 or self.max_consecutive_failures < 1:
            problems.append("batch, commit size and failure limit must be 1 or more")
        if not 0.0 < self.rider_threshold <= 1.0:
            problems.append("rider threshold must be above 0 and at most 1")
        if self.stop_frame is not None and self.stop_frame < 1:
            problems.append("the last frame must be after the first")
        if problems:
            raise ValidationError("The run settings are not valid: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class RunControl:
    """Pause, resume and stop a run from another thread. Pausing blocks the run on an event (no CPU)."""

    def __init__(self) -> None:
        self._go = threading.Event()
        self._go.set()
        self._stop = threading.Event()

    def pause(self) -> None:
        if not self._stop.is_set():
            self._go.clear()

    def resume(self) -> None:
        self._go.set()

    def stop(self) -> None:
        self._stop.set()
        self._go.set()

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_until_resumed(self) -> None:
        self._go.wait()


@dataclass(frozen=True)
class Progress:
    """Where a run stands: ``done`` of ``total`` frames, the last frame index, speed and time left."""

    done: int
    total: int
    frame: int
    fps: float
    eta_seconds: float | None


@dataclass
class RunCallbacks:
    """What a run reports while it goes (called on the run's thread)."""

    progress: Callable[[Progress], None] = lambda progress: None
    #: After each commit: first frame, last frame, number of events written.
    committed: Callable[[int, int, int], None] = lambda first, last, count: None
    state: Callable[[str], None] = lambda state: None
    #: Where the frames are computed, once known (cluster runs: the worker's host).
    placed: Callable[[str], None] = lambda where: None
    #: Minimum seconds between two progress reports (the last one always comes).
    progress_interval: float = 0.1


@dataclass
class RunSummary:
    session_id: int
    video_id: int
    status: RunStatus
    frames_processed: int
    frames_failed: int
    total_detections: int
    detections_by_type: dict[str, int]
    processing_time_seconds: float
    frames_per_second: float
    error_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Plan:
    session_id: int
    video_id: int
    video_path: Path
    video_kind: str
    table: FrameTable | None
    model_id: int
    model_path: Path
    model_sha256: str
    class_map: dict[str, str | None]
    config: RunConfig
    start_frame: int
    end_frame: int
    total: int
    done_before: int
    failed_before: int
    time_before: float
    previous_sha: str | None


_END = object()


@dataclass
class _DecodeFailure:
    error: BaseException


@dataclass(frozen=True)
class FrameResult:
    """One processed frame: its index and time, and the model's boxes in native pixels (``None``: the
    frame could not be decoded, ``error`` says why)."""

    index: int
    time: float
    detections: list[RawDetection] | None
    error: str | None = None


def frames_to_process(end_frame: int, stride: int) -> int:
    return len(range(0, end_frame, stride))


def owner_tag() -> dict[str, Any]:
    """Who runs a run: this process (pid, host, and when it started, so a recycled pid is not mistaken)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": _process_start(os.getpid())}


def owner_alive(owner: dict[str, Any] | None) -> bool:
    """Whether the process that holds a run is still alive on this machine."""
    if not owner or owner.get("host") != socket.gethostname():
        return False
    pid = int(owner.get("pid", 0))
    if pid <= 0:
        return False
    started = owner.get("started")
    if started is not None and started != _process_start(pid):
        return False  # that pid is another process now (or the machine restarted)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (Linux), or ``None``."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def _process_start(pid: int) -> str | None:
    """Boot id and start time of a process (Linux), or ``None`` where /proc does not tell."""
    fields = _proc_stat(pid)
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    return None if fields is None else f"{boot}:{fields[19]}"


def _is_zombie(pid: int) -> bool:
    fields = _proc_stat(pid)
    return fields is not None and fields[0] == "Z"


def _set_status(session: Any, run: TestSession, status: RunStatus) -> None:
    run.status = status
    video = session.get(Video, run.video_id)
    if video is not None:
        video.processing_status = PROCESSING_STATUS_OF_RUN[status]


def _begin(db: Database, session_id: int) -> _Plan:
    """Mark the run running and gather what the loop needs; refuse runs that cannot start."""
    with db.transaction() as session:
        run = session.get(TestSession, session_id)
        if run is None:
            raise NotFoundError(f"There is no run {session_id}.", hint="See 'vru-desktop runs'.")
        if run.status == RunStatus.COMPLETED:
            raise ValidationError(f"Run {session_id} is already completed.")
        if run.status in (RunStatus.RUNNING, RunStatus.PAUSED) and owner_alive(run.provenance.get("owner")):
            raise ValidationError(f"Run {session_id} is already running in another process.")
        if run.status not in (*STARTABLE, RunStatus.RUNNING, RunStatus.PAUSED):
            raise ValidationError(f"Run {session_id} is {run.status} and cannot be started.")
        video = session.get(Video, run.video_id)
        model = session.get(DetectorModel, run.model_id) if run.model_id is not None else None
        if video is None:
            raise NotFoundError(f"The video of run {session_id} is no longer in the library.")
        if model is None:
            raise ModelError(
                f"The model of run {session_id} was removed from the list of models.",
                hint="Start a new run with another model.",
            )
        config = RunConfig.from_dict(run.config)
        config.validate()
        frame_count = video.frame_count
        table = None
        if video.frame_index is not None:
            table = FrameTable.from_bytes(video.frame_index.times, video.frame_index.keyframes)
            frame_count = len(table) or frame_count
        end = frame_count if config.stop_frame is None else min(frame_count, config.stop_frame)
        start = (run.last_committed_frame // config.stride + 1) * config.stride
        # Events are committed with last_committed_frame, so none can lie beyond it; make sure.
        session.execute(
            delete(DetectionEvent).where(
                DetectionEvent.session_id == session_id,
                DetectionEvent.frame_number > run.last_committed_frame,
            )
        )
        _set_status(session, run, RunStatus.RUNNING)
        run.started_at = run.started_at or utcnow()
        run.completed_at = None
        run.error_message = None
        run.provenance = {**run.provenance, "owner": owner_tag()}
        return _Plan(
            session_id=session_id,
            video_id=video.id,
            video_path=Path(video.file_path),
            video_kind=video.kind,
            table=table,
            model_id=model.id,
            model_path=Path(model.path),
            model_sha256=model.sha256,
            class_map=dict(model.class_map),
            config=config,
            start_frame=start,
            end_frame=end,
            total=frames_to_process(end, config.stride),
            done_before=run.frames_processed,
            failed_before=run.frames_failed,
            time_before=run.processing_time_seconds,
            previous_sha=run.provenance.get("model_sha256"),
        )


def _record_provenance(
    db: Database,
    plan: _Plan,
    sha: str,
    model_format: str,
    names: dict[str, str],
    libraries: dict[str, str],
) -> None:
    with db.transaction() as session:
        run = session.get(TestSession, plan.session_id)
        assert run is not None
        sitting = {"from_frame": plan.start_frame, "at": str(utcnow())}
        sittings = [*run.provenance.get("sittings", []), sitting]
        run.provenance = {
            **run.provenance,
            "model_sha256": sha,
            "model_path": str(plan.model_path),
            "model_format": model_format,
            "class_names": names,
            "class_map": plan.class_map,
            "libraries": libraries,
            "sittings": sittings,
        }


@dataclass(frozen=True)
class _Shrink:
    """Resize a frame to the size the model's letterbox would give it, in the decoding thread.

    The same ``cv2.resize`` (linear) as Ultralytics' LetterBox, so the model sees the same pixels;
    the inference thread is spared the resize and the queue holds small frames. Boxes come back
    in the small frame's pixels and are scaled by the returned factors.
    """

    height: int
    width: int

    def __call__(self, frame: DecodedFrame) -> tuple[DecodedFrame, float, float]:
        if frame.image is None:
            return frame, 1.0, 1.0
        h, w = frame.image.shape[:2]
        r = min(self.height / h, self.width / w)
        if r >= 1.0:
            return frame, 1.0, 1.0
        import cv2

        size = (max(round(w * r), 1), max(round(h * r), 1))
        frame.image = cv2.resize(frame.image, size, interpolation=cv2.INTER_LINEAR)
        return frame, w / size[0], h / size[1]


def _decode_ahead(
    frames: Iterator[DecodedFrame], shrink: _Shrink, out: queue.Queue[Any], stop: threading.Event
) -> None:
    """The decoding thread: fills the bounded queue (blocking when full), ends with ``_END``."""
    try:
        for frame in frames:
            if stop.is_set():
                break
            out.put(shrink(frame))
    except BaseException as exc:
        out.put(_DecodeFailure(exc))
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
        out.put(_END)


def infer_frames(
    model: LoadedModel,
    video_path: Path,
    video_kind: str,
    table: FrameTable | None,
    config: RunConfig,
    start: int,
    end: int,
) -> Iterator[list[FrameResult]]:
    """Decode frames ``start … end`` (every ``stride``-th) ahead in a thread and yield each inference
    batch's results. A tracking run decodes from frame 0 (ByteTrack's state depends on every frame
    before); results before ``start`` are yielded too, for the caller to drop. Close the generator to
    stop decoding."""
    tracking = config.tracker != "none"
    frames = iter_frames(
        video_path, video_kind, start=0 if tracking else start, stop=end, stride=config.stride, table=table
    )
    args = {"conf": config.conf, "iou": config.iou, "imgsz": config.imgsz, "device": _device(config.device)}
    shrink = _Shrink(*model.input_size(**args))
    buffer: queue.Queue[Any] = queue.Queue(maxsize=max(8, 3 * config.batch))
    stop_decoding = threading.Event()
    decoder = threading.Thread(
        target=_decode_ahead, args=(frames, shrink, buffer, stop_decoding), name="vru-decode", daemon=True
    )
    decoder.start()
    batch_size = 1 if tracking else config.batch
    try:
        ended = False
        while not ended:
            batch: list[tuple[DecodedFrame, float, float]] = []
            while len(batch) < batch_size:
                item = buffer.get()
                if item is _END:
                    ended = True
                    break
                if isinstance(item, _DecodeFailure):
                    raise item.error
                batch.append(item)
            if batch:
                yield _infer(model, batch, args, tracking)
    finally:
        stop_decoding.set()
        while decoder.is_alive():  # unblock a decoder waiting on a full queue
            try:
                buffer.get(timeout=0.05)
            except queue.Empty:
                continue
        decoder.join()


def _infer(
    model: LoadedModel, batch: list[tuple[DecodedFrame, float, float]], args: dict[str, Any], tracking: bool
) -> list[FrameResult]:
    good = [item for item in batch if item[0].image is not None]
    raw: list[list[RawDetection]] = []
    if good:
        if tracking:
            raw = [model.track(good[0][0].image, **args)]
        else:
            raw = model.predict([f.image for f, _, _ in good], **args)
    found = {
        frame.index: [_scaled(d, sx, sy) for d in detections]
        for (frame, sx, sy), detections in zip(good, raw, strict=True)
    }
    return [
        FrameResult(frame.index, frame.time, found.get(frame.index), frame.error) for frame, _, _ in batch
    ]


class _Run:
    """The state of one sitting of a run (from start or resume to completion, stop or failure): counts
    the frames, turns results into events and commits them. Where the results are computed is the
    caller's business (:meth:`run` here, Ray workers in :mod:`vru_desktop.detection.cluster`)."""

    def __init__(
        self,
        db: Database,
        plan: _Plan,
        control: RunControl,
        callbacks: RunCallbacks,
    ) -> None:
        self.db = db
        self.plan = plan
        self.control = control
        self.callbacks = callbacks
        self.config = plan.config
        self.done = plan.done_before
        self.failed = plan.failed_before
        self.done_this_sitting = 0
        self.consecutive_failures = 0
        self.pending: list[DetectionEvent] = []
        self.pending_first: int | None = None
        self.pending_last = -1
        self.pending_done = 0
        self.last_commit = time.monotonic()
        self.last_progress = 0.0
        self.active_seconds = 0.0
        self.active_since = time.monotonic()

    # -- timing ---------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return self.active_seconds + (time.monotonic() - self.active_since)

    def fps(self) -> float:
        elapsed = self.elapsed()
        return self.done_this_sitting / elapsed if elapsed > 0 else 0.0

    # -- the loop -------------------------------------------------------------------------------
    def run(self, model: LoadedModel) -> RunStatus:
        """Process every frame left in this process; returns the final state (completed or stopped)."""
        plan = self.plan
        if plan.start_frame >= plan.end_frame:
            return RunStatus.COMPLETED
        # ByteTrack's state depends on every frame before: a resumed tracking run feeds it the frames
        # done already again (their events are stored), so track ids go on as in one sitting.
        batches = infer_frames(
            model, plan.video_path, plan.video_kind, plan.table, self.config, plan.start_frame, plan.end_frame
        )
        try:
            while True:
                if self.control.paused and not self.control.stopped:
                    self.pause()
                if self.control.stopped:
                    self.commit()
                    return RunStatus.STOPPED
                results = next(batches, None)
                if results is None:
                    break
                self.record(results)
        finally:
            batches.close()
        self.commit()
        return RunStatus.COMPLETED

    def pause(self) -> None:
        """Commit, mark the run paused and wait (no CPU) until it is resumed or stopped."""
        self.commit()
        self.active_seconds += time.monotonic() - self.active_since
        self._state(RunStatus.PAUSED)
        self.control.wait_until_resumed()
        self.active_since = time.monotonic()
        if not self.control.stopped:
            self._state(RunStatus.RUNNING)

    def _state(self, state: RunStatus) -> None:
        with self.db.transaction() as session:
            run = session.get(TestSession, self.plan.session_id)
            assert run is not None
            _set_status(session, run, state)
        self.callbacks.state(state)

    def record(self, results: list[FrameResult]) -> None:
        """Count a batch of processed frames and keep their events; commit when one is due."""
        if not results:
            return
        for frame in results:
            if frame.index < self.plan.start_frame:
                continue
            if frame.detections is None:
                self.failed += 1
                self.consecutive_failures += 1
                log.warning("run %s: frame %s skipped: %s", self.plan.session_id, frame.index, frame.error)
                if self.consecutive_failures >= self.config.max_consecutive_failures:
                    self.commit()
                    raise MediaError(
                        f"{self.plan.video_path.name}: {self.consecutive_failures} frames in a row could not "
                        f"be decoded (up to frame {frame.index}); the video is probably damaged.",
                        hint="Check the file, or set a last frame before the damaged part.",
                    )
            else:
                self.consecutive_failures = 0
                mapped = map_detections(
                    frame.detections, self.plan.class_map, rider_threshold=self.config.rider_threshold
                )
                self.pending.extend(self._event(frame, det) for det in mapped)
            self.done += 1
            self.done_this_sitting += 1
            self.pending_done += 1
            if self.pending_first is None:
                self.pending_first = frame.index
            self.pending_last = frame.index
        now = time.monotonic()
        due = now - self.last_commit >= self.config.commit_seconds
        if due or self.pending_done >= self.config.commit_frames:
            self.commit()
        if now - self.last_progress >= self.callbacks.progress_interval or self.done >= self.plan.total:
            self.last_progress = now
            self._report(results[-1].index)

    def _report(self, frame: int) -> None:
        fps = self.fps()
        left = self.plan.total - self.done
        eta = left / fps if fps > 0 else None
        self.callbacks.progress(Progress(self.done, self.plan.total, frame, fps, eta))

    def _event(self, frame: FrameResult, det: VruDetection) -> DetectionEvent:
        extra: dict[str, Any] = {}
        if det.vehicle_box is not None:
            extra = {
                "vehicle_box": [round(v, 2) for v in det.vehicle_box],
                "vehicle_class": det.vehicle_class,
            }
        x1, y1, x2, y2 = (round(v, 2) for v in det.box)
        return DetectionEvent(
            session_id=self.plan.session_id,
            video_id=self.plan.video_id,
            frame_number=frame.index,
            timestamp=frame.time,
            vru_type=det.vru_type,
            confidence=round(det.confidence, 5),
            class_name=det.class_name,
            track_id=det.track_id,
            x1=x1,
            y1=y1,
            x2=x2,
            y2=y2,
            **extra,
        )

    def commit(self) -> None:
        """Write the pending events with the run's counters and last frame, in one transaction."""
        if self.pending_done == 0:
            return
        count = len(self.pending)
        with self.db.transaction() as session:
            run = session.get(TestSession, self.plan.session_id)
            assert run is not None
            session.add_all(self.pending)
            run.last_committed_frame = self.pending_last
            run.frames_processed = self.done
            run.frames_failed = self.failed
            run.progress = self.done / self.plan.total if self.plan.total else 1.0
            run.processing_time_seconds = self.plan.time_before + self.elapsed()
        first = self.pending_first if self.pending_first is not None else self.pending_last
        self.pending = []
        self.pending_first = None
        self.pending_done = 0
        self.last_commit = time.monotonic()
        self.callbacks.committed(first, self.pending_last, count)


# The model of the last run stays loaded, so a queue of runs with one model loads it once. A run takes
# it out while it runs, so two runs at the same time never share one.
_loaded: dict[tuple[str, str, str], LoadedModel] = {}
_loaded_lock = threading.Lock()


def _take_loaded(key: tuple[str, str, str]) -> LoadedModel | None:
    with _loaded_lock:
        return _loaded.pop(key, None)


def _keep_loaded(key: tuple[str, str, str], model: LoadedModel) -> None:
    with _loaded_lock:
        _loaded.clear()
        _loaded[key] = model


def _scaled(det: RawDetection, sx: float, sy: float) -> RawDetection:
    if sx == 1.0 and sy == 1.0:
        return det
    x1, y1, x2, y2 = det.box
    return replace(det, box=(x1 * sx, y1 * sy, x2 * sx, y2 * sy))


def _device(device: str) -> str:
    return "0" if device == "cuda" else "cpu"


def _finish(db: Database, session_id: int, status: RunStatus, message: str | None) -> RunSummary:
    with db.transaction() as session:
        run = session.get(TestSession, session_id)
        assert run is not None
        _set_status(session, run, status)
        run.error_message = message
        if status == RunStatus.COMPLETED:
            run.progress = 1.0
        run.completed_at = (
            utcnow() if status in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED) else None
        )
    stats = compute_statistics(db, session_id)  # the specification's session statistics
    with db.session() as session:
        run = session.get(TestSession, session_id)
        assert run is not None
        return RunSummary(
            session_id=session_id,
            video_id=run.video_id,
            status=status,
            frames_processed=run.frames_processed,
            frames_failed=run.frames_failed,
            total_detections=stats.total_detections,
            detections_by_type=dict(stats.detections_by_type),
            processing_time_seconds=run.processing_time_seconds,
            frames_per_second=stats.frames_per_second,
            error_message=message,
        )


def execute_run(
    db: Database,
    session_id: int,
    locations: Locations,
    *,
    control: RunControl | None = None,
    callbacks: RunCallbacks | None = None,
) -> RunSummary:
    """Run (or continue) a detection run to its end, a stop or a failure; returns its summary.

    A failure is recorded on the run (status ``failed`` with its message, everything computed so far
    kept) and returned in the summary; only a run that cannot start at all raises.
    """
    return run_sitting(
        db,
        session_id,
        lambda plan, control, callbacks: _execute(db, plan, locations, control, callbacks),
        control=control,
        callbacks=callbacks,
    )


#: The work of one sitting between :func:`_begin` and :func:`_finish`: the final state and its message.
Sitting = Callable[[_Plan, RunControl, RunCallbacks], tuple[RunStatus, str | None]]


def run_sitting(
    db: Database,
    session_id: int,
    sitting: Sitting,
    *,
    control: RunControl | None = None,
    callbacks: RunCallbacks | None = None,
) -> RunSummary:
    """Begin a run, let ``sitting`` process its frames (here or elsewhere), record how it ended."""
    control = control or RunControl()
    callbacks = callbacks or RunCallbacks()
    plan = _begin(db, session_id)
    callbacks.state(RunStatus.RUNNING)
    try:
        state, message = sitting(plan, control, callbacks)
    except VruError as exc:
        state, message = RunStatus.FAILED, str(exc)
    except Exception as exc:
        log.exception("run %s failed", session_id)
        state, message = RunStatus.FAILED, unexpected_error_message(exc)
    summary = _finish(db, session_id, state, message)
    callbacks.state(state)
    return summary


def _model_sha(plan: _Plan) -> str:
    """The model file's SHA-256, refusing a file that changed since the run started."""
    check_model_file(plan.model_path)
    sha = file_sha256(plan.model_path)
    if plan.previous_sha is not None and sha != plan.previous_sha:
        raise ModelError(
            f"{plan.model_path.name} changed since this run started (its SHA-256 differs); resuming would "
            "mix two models in one run.",
            hint="Start a new run instead.",
        )
    return sha


def _execute(
    db: Database, plan: _Plan, locations: Locations, control: RunControl, callbacks: RunCallbacks
) -> tuple[RunStatus, str | None]:
    sha = _model_sha(plan)
    if plan.config.tracker != "none":
        check_tracker_available()
    tracking = plan.config.tracker != "none"
    key = (str(plan.model_path), sha, plan.config.device)
    model = _take_loaded(key) if not tracking else None
    if model is None:
        trusted = model_trusted(db, sha)
        model = load_model(plan.model_path, locations, device=plan.config.device, trusted=trusted)
    names = {str(k): v for k, v in model.names.items()}
    plan.class_map = record_class_names(db, plan.model_id, names)
    _record_provenance(db, plan, sha, model.format, names, library_versions())
    if control.stopped:
        return RunStatus.STOPPED, None
    sitting = _Run(db, plan, control, callbacks)
    try:
        state = sitting.run(model)
    finally:
        sitting.commit()
    if not tracking:  # a tracker keeps per-video state in the model: never reuse that one
        _keep_loaded(key, model)
    return _ended(db, plan, sitting, state)


def _ended(db: Database, plan: _Plan, sitting: _Run, state: RunStatus) -> tuple[RunStatus, str | None]:
    """The final state of a sitting that ended without an error; frames never decoded count as failed."""
    if state == RunStatus.STOPPED:
        return state, None
    missing = plan.total - sitting.done
    if missing > 0:
        with db.transaction() as session:
            run = session.get(TestSession, plan.session_id)
            assert run is not None
            run.frames_failed += missing
        return state, f"{missing} frames at the end of the video could not be decoded."
    return state, None


def eta_text(seconds: float | None) -> str:
    """Time left for a person: ``1:05`` (m:ss) or ``1:02:05``; ``–`` when unknown."""
    if seconds is None or math.isinf(seconds) or math.isnan(seconds):
        return "–"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
